public import PluginABI

/// A SynApp written in Swift against the raw C ABI (no SDK): echoes, reports host facts, and uses every local slot.
///
/// Methods: `echo` (returns the body), `random` (16 random bytes as hex), `clock` (monotonic ns), `log`
/// (logs the body), `kv` (calls kv_get and reports the status and last_error).

nonisolated(unsafe) private var host: UnsafePointer<syn_host>? = nil

nonisolated(unsafe) private let magic: UnsafeMutablePointer<syn_magic> = {
    let p = UnsafeMutablePointer<syn_magic>.allocate(capacity: 1)
    p.initialize(to: syn_magic(size: UInt32(MemoryLayout<syn_magic>.size), abi_major: UInt32(SYN_ABI_MAJOR),
                               abi_minor: UInt32(SYN_ABI_MINOR), app_id: staticCString("swift-echo"),
                               app_version: staticCString("1.0.0")))
    return p
}()

nonisolated(unsafe) private let plugin: UnsafeMutablePointer<syn_plugin> = {
    let p = UnsafeMutablePointer<syn_plugin>.allocate(capacity: 1)
    var table = syn_plugin()
    table.size = UInt32(MemoryLayout<syn_plugin>.size)
    table.minor = UInt32(SYN_ABI_MINOR)
    table.handle = { ctx, request, response in
        guard let host, let request, let response else { return SYN_E_BAD_ARG }
        let method = String(decoding: UnsafeBufferPointer(start: request.pointee.method.ptr,
                                                          count: request.pointee.method.len), as: UTF8.self)
        let body = Array(UnsafeBufferPointer(start: request.pointee.body.ptr, count: request.pointee.body.len))
        var out: [UInt8]
        switch method {
        case "echo": out = body
        case "random":
            var bytes = [UInt8](repeating: 0, count: 16)
            guard host.pointee.random(ctx, &bytes, 16) == SYN_OK else { return SYN_E_INTERNAL }
            out = Array(bytes.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }.joined().utf8)
        case "clock":
            out = Array(String(host.pointee.clock_ns(ctx, 1)).utf8)
        case "log":
            body.withUnsafeBufferPointer { host.pointee.log(ctx, SYN_LOG_INFO, syn_buf(ptr: $0.baseAddress, len: $0.count)) }
            out = Array("logged".utf8)
        case "kv":
            var value = syn_buf(ptr: nil, len: 0)
            var version: UInt64 = 0
            let key: [UInt8] = Array("k".utf8)
            let status = key.withUnsafeBufferPointer { host.pointee.kv_get(ctx, syn_buf(ptr: $0.baseAddress, len: $0.count), &value, &version) }
            var message = syn_buf(ptr: nil, len: 0)
            _ = host.pointee.last_error(ctx, &message)
            let text = String(decoding: UnsafeBufferPointer(start: message.ptr, count: message.len), as: UTF8.self)
            out = Array("\(status) \(text)".utf8)
        default:
            response.pointee.status = 404
            out = Array("unknown method".utf8)
        }
        guard let memory = host.pointee.alloc(ctx, out.count) else { return SYN_E_TOO_LARGE }
        out.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: out.count) }
        if response.pointee.status == 0 { response.pointee.status = 200 }
        response.pointee.body = syn_buf(ptr: memory.assumingMemoryBound(to: UInt8.self), len: out.count)
        return SYN_OK
    }
    p.initialize(to: table)
    return p
}()

private func staticCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("synapp_magic")
public func synappMagic() -> UnsafePointer<syn_magic> { UnsafePointer(magic) }

@_cdecl("synapp_entry")
public func synappEntry(_ h: UnsafePointer<syn_host>?, _ minor: UnsafeMutablePointer<UInt32>?,
                        _ out: UnsafeMutablePointer<UnsafePointer<syn_plugin>?>?) -> syn_status {
    guard let h, let minor, let out else { return SYN_E_BAD_ARG }
    host = h
    minor.pointee = min(minor.pointee, UInt32(SYN_ABI_MINOR))
    out.pointee = UnsafePointer(plugin)
    return SYN_OK
}
