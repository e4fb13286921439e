import PluginABI
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// A loaded SynApp: its identity and its plugin table.
struct LoadedApp {
    let plugin: UnsafePointer<syn_plugin>
    let appID: String
    let version: String
    let minor: UInt32

    private typealias MagicFunction = @convention(c) () -> UnsafePointer<syn_magic>?
    private typealias EntryFunction = @convention(c) (
        UnsafePointer<syn_host>?, UnsafeMutablePointer<UInt32>?, UnsafeMutablePointer<UnsafePointer<syn_plugin>?>?
    ) -> Int32

    /// Opens the library. Its constructors run here, under seccomp stage A.
    static func open(path: String) throws(WorkerFailure) -> UnsafeMutableRawPointer {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw .load("dlopen failed: \(reason)")
        }
        return handle
    }

    /// Checks `synapp_magic` and negotiates through `synapp_entry`.
    static func bind(_ handle: UnsafeMutableRawPointer, expectedID: String) throws(WorkerFailure) -> LoadedApp {
        guard let magicSymbol = dlsym(handle, "synapp_magic") else {
            throw .load("the library does not export synapp_magic")
        }
        guard let entrySymbol = dlsym(handle, "synapp_entry") else {
            throw .load("the library does not export synapp_entry")
        }
        let magicFunction = unsafeBitCast(magicSymbol, to: MagicFunction.self)
        let entry = unsafeBitCast(entrySymbol, to: EntryFunction.self)
        guard let magic = magicFunction() else { throw .load("synapp_magic returned NULL") }
        let minimumMagic = MemoryLayout<syn_magic>.offset(of: \syn_magic.app_version)! + MemoryLayout<UnsafePointer<CChar>>.size
        guard Int(magic.pointee.size) >= minimumMagic else {
            throw .load("syn_magic.size \(magic.pointee.size) is smaller than the v1 layout (\(minimumMagic))")
        }
        guard magic.pointee.abi_major == UInt32(SYN_ABI_MAJOR) else {
            throw .load("the app was built for PluginABI major \(magic.pointee.abi_major); this host supports \(SYN_ABI_MAJOR)")
        }
        let appID = cString(magic.pointee.app_id, limit: 255) ?? ""
        let version = cString(magic.pointee.app_version, limit: 255) ?? ""
        guard appID == expectedID else {
            throw .load("synapp_magic reports app id '\(appID)' but the manifest's [app] id is '\(expectedID)'")
        }
        var minor = UInt32(SYN_ABI_MINOR)
        var plugin: UnsafePointer<syn_plugin>? = nil
        let status = entry(UnsafePointer(HostTable.table), &minor, &plugin)
        guard status == SYN_OK else { throw .load("synapp_entry refused to start: status \(status)") }
        guard let plugin else { throw .load("synapp_entry returned no plugin table") }
        guard minor <= UInt32(SYN_ABI_MINOR) else {
            throw .load("synapp_entry chose ABI minor \(minor), above the host's \(SYN_ABI_MINOR)")
        }
        let handleEnd = MemoryLayout<syn_plugin>.offset(of: \syn_plugin.handle)! + MemoryLayout<Int>.size
        guard Int(plugin.pointee.size) >= handleEnd, plugin.pointee.handle != nil else {
            throw .load("the plugin table has no handle slot")
        }
        return LoadedApp(plugin: plugin, appID: appID, version: version, minor: minor)
    }

    /// Whether the app's table includes `slot` and it is non-NULL.
    func has(_ slot: PartialKeyPath<syn_plugin>) -> Bool {
        guard let offset = MemoryLayout<syn_plugin>.offset(of: slot) else { return false }
        guard Int(plugin.pointee.size) >= offset + MemoryLayout<Int>.size else { return false }
        return UnsafeRawPointer(plugin).load(fromByteOffset: offset, as: Int.self) != 0
    }

    private static func cString(_ p: UnsafePointer<CChar>?, limit: Int) -> String? {
        guard let p else { return nil }
        let n = strnlen(p, limit)
        return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
    }
}
