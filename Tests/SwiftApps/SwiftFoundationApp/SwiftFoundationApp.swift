import Foundation
public import PluginABI

/// A Swift SynApp that uses full Foundation (JSON coding, UUID, dates, time zones, Dispatch threads), to prove
/// the shipped `foundation` profile is enough for one. Method `report` answers a JSON summary; `spawn_process`
/// tries to start a process, which the sandbox must still stop.

nonisolated(unsafe) private var host: UnsafePointer<syn_host>? = nil

private struct Report: Codable {
    var uuid: String
    var uuid_is_zero: Bool
    var year: Int
    var zone: String
    var threads_ran: Int
    var decoded: [String: Int]
}

/// A thread-safe counter for the Dispatch check.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

private func makeReport() throws -> [UInt8] {
    let uuid = UUID()
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "Europe/Paris") ?? .gmt
    let year = calendar.component(.year, from: Date())
    let group = DispatchGroup()
    let counter = Counter()
    for _ in 0..<4 {
        DispatchQueue.global().async(group: group) { counter.increment() }
    }
    group.wait()
    let ran = counter.value
    let decoded = try JSONDecoder().decode([String: Int].self, from: Data(#"{"a":1,"b":2}"#.utf8))
    let report = Report(uuid: uuid.uuidString, uuid_is_zero: uuid.uuidString.filter { $0 != "-" && $0 != "0" }.count <= 2, // only version and variant set
                        year: year, zone: calendar.timeZone.identifier, threads_ran: ran, decoded: decoded)
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return Array(try encoder.encode(report))
}

nonisolated(unsafe) private let magic: UnsafeMutablePointer<syn_magic> = {
    let p = UnsafeMutablePointer<syn_magic>.allocate(capacity: 1)
    p.initialize(to: syn_magic(size: UInt32(MemoryLayout<syn_magic>.size), abi_major: UInt32(SYN_ABI_MAJOR),
                               abi_minor: UInt32(SYN_ABI_MINOR),
                               app_id: UnsafeRawPointer(("swift-foundation" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self),
                               app_version: UnsafeRawPointer(("1.0.0" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)))
    return p
}()

nonisolated(unsafe) private let plugin: UnsafeMutablePointer<syn_plugin> = {
    let p = UnsafeMutablePointer<syn_plugin>.allocate(capacity: 1)
    var table = syn_plugin()
    table.size = UInt32(MemoryLayout<syn_plugin>.size)
    table.minor = UInt32(SYN_ABI_MINOR)
    table.handle = { ctx, request, response in
        guard let host, let request, let response else { return SYN_E_BAD_ARG }
        let method = String(decoding: UnsafeBufferPointer(start: request.pointee.method.ptr, count: request.pointee.method.len), as: UTF8.self)
        var out: [UInt8]
        switch method {
        case "report":
            guard let report = try? makeReport() else { return SYN_E_INTERNAL }
            out = report
        case "proc":
            // What the sandbox's /proc shows: process directories of its own pid namespace only.
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? ["<unreadable>"]
            let visible = entries.filter { !$0.isEmpty }.sorted()
            let sys = FileManager.default.fileExists(atPath: "/proc/sys") || FileManager.default.fileExists(atPath: "/proc/cpuinfo")
            out = Array("\(visible.joined(separator: ",")) sys=\(sys)".utf8)
        case "spawn_process":
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            do { try process.run(); out = Array("spawned".utf8) } catch { out = Array("refused: \(error)".utf8) }
        default:
            out = Array("unknown".utf8)
        }
        guard let memory = host.pointee.alloc(ctx, out.count) else { return SYN_E_TOO_LARGE }
        out.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: out.count) }
        response.pointee.status = 200
        response.pointee.body = syn_buf(ptr: memory.assumingMemoryBound(to: UInt8.self), len: out.count)
        return SYN_OK
    }
    p.initialize(to: table)
    return p
}()

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
