public import PluginABI

/// A hostile Swift SynApp: `handle` calls `fatalError`, which traps (SIGILL). The sandbox must classify it as a
/// crash and the host must survive.

nonisolated(unsafe) private let magic: UnsafeMutablePointer<syn_magic> = {
    let p = UnsafeMutablePointer<syn_magic>.allocate(capacity: 1)
    p.initialize(to: syn_magic(size: UInt32(MemoryLayout<syn_magic>.size), abi_major: UInt32(SYN_ABI_MAJOR),
                               abi_minor: UInt32(SYN_ABI_MINOR),
                               app_id: UnsafeRawPointer(("swift-fatal" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self),
                               app_version: UnsafeRawPointer(("1.0.0" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)))
    return p
}()

nonisolated(unsafe) private let plugin: UnsafeMutablePointer<syn_plugin> = {
    let p = UnsafeMutablePointer<syn_plugin>.allocate(capacity: 1)
    var table = syn_plugin()
    table.size = UInt32(MemoryLayout<syn_plugin>.size)
    table.minor = UInt32(SYN_ABI_MINOR)
    table.handle = { _, request, _ in
        let n = request?.pointee.method.len ?? 0
        fatalError("hostile SwiftFatalApp gives up (method length \(n))")
    }
    p.initialize(to: table)
    return p
}()

@_cdecl("synapp_magic")
public func synappMagic() -> UnsafePointer<syn_magic> { UnsafePointer(magic) }

@_cdecl("synapp_entry")
public func synappEntry(_ h: UnsafePointer<syn_host>?, _ minor: UnsafeMutablePointer<UInt32>?,
                        _ out: UnsafeMutablePointer<UnsafePointer<syn_plugin>?>?) -> syn_status {
    guard let minor, let out else { return SYN_E_BAD_ARG }
    minor.pointee = min(minor.pointee, UInt32(SYN_ABI_MINOR))
    out.pointee = UnsafePointer(plugin)
    return SYN_OK
}
