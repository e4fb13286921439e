import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `syneroym run` in a process of its own, with hello (the neighbour) and extra C apps built with `cc`, on a
/// loopback port; its stderr drained continuously (a full pipe would block the node's logging under load). Hostile
/// apps and the load test are aimed at it, and the tests read the node's pid and memory from /proc.
public final class ProcessNode: @unchecked Sendable {
    public let process: ChildProcess
    public let port: Int
    public let data: String
    /// The network namespace the node runs in (`ip netns`), or nil for the test's own.
    public let netns: String?
    private let collector: Collector

    public var pid: Int32 { process.pid }
    public var log: String { collector.text }

    private init(process: ChildProcess, port: Int, data: String, netns: String?, collector: Collector) {
        self.process = process
        self.port = port
        self.data = data
        self.netns = netns
        self.collector = collector
    }

    deinit { stop() }

    /// Starts a node with hello and each app in `apps` (id → C source; its manifest text), after `syneroym init`,
    /// with `edit` applied to node.toml and `limits` lines replacing the `default` profile's.
    public static func start(apps: [(id: String, source: String, manifest: String)], limits: [String: String] = [:],
                      edit: (String) -> String = { $0 }) throws -> ProcessNode {
        let dir = try TestSupport.helloNodeDirectory("process")
        for app in apps {
            let lib = try TestSupport.buildC(app.source, name: "\(app.id)-process")
            try FileManager.default.copyItem(atPath: lib, toPath: dir + "/manifests/lib\(app.id).so")
            try app.manifest.write(toFile: dir + "/manifests/\(app.id).toml", atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: dir + "/profiles", withIntermediateDirectories: true)
        let shipped = try String(contentsOfFile: TestSupport.root + "/sandbox-profiles/default.toml", encoding: .utf8)
        let lines = shipped.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            for (key, value) in limits where line.hasPrefix(key + " ") { return "\(key) = \(value)" }
            return String(line)
        }
        try lines.joined(separator: "\n").write(toFile: dir + "/profiles/default.toml", atomically: true, encoding: .utf8)
        let initialized = try CLI.syneroym(["init", "--data", dir + "/data", "--manifests", dir + "/manifests"])
        guard initialized.status == 0 else { throw TestFailure("init failed: \(initialized.stderr)") }
        let toml = try String(contentsOfFile: dir + "/data/node.toml", encoding: .utf8)
        try edit(toml).write(toFile: dir + "/data/node.toml", atomically: true, encoding: .utf8)

        return try launch(["run", "--manifests", dir + "/manifests", "--profiles", dir + "/profiles",
                           "--data", dir + "/data", "--listen", "127.0.0.1:0"],
                          data: dir + "/data", apps: ["hello"] + apps.map(\.id))
    }

    /// Starts `syneroym` with `arguments` (a `run`) and waits until the gateway listens and each of `apps` started.
    /// In network namespace `netns` when given (through `ip netns exec`, which becomes the node).
    public static func launch(_ arguments: [String], data: String, apps: [String], environment: [String: String] = [:],
                              netns: String? = nil) throws -> ProcessNode {
        let binary = TestSupport.products + "/syneroym"
        let (executable, all) = netns.map { ns in (NetworkNamespace.ip, ["netns", "exec", ns, binary] + arguments) } ?? (binary, arguments)
        let node = try ChildProcess(executable, all,
                                    environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, stdout: .null)
        DispatchQueue.global().asyncAfter(deadline: .now() + 240) { node.signal() }
        let collector = Collector()
        guard let handle = node.errorHandle else { throw TestFailure("no stderr pipe") }
        Thread.detachNewThread {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                collector.append(String(decoding: chunk, as: UTF8.self))
            }
            collector.finish()
        }
        let started = ["gateway listening"] + apps.map { "event=started(app: \"\($0)\"" }
        guard collector.waitFor(started, seconds: 60) else {
            node.signal()
            throw TestFailure("the node did not start: \(collector.text.suffix(3000))")
        }
        guard let port = Self.port(in: collector.text) else { throw TestFailure("no port in: \(collector.text.suffix(2000))") }
        return ProcessNode(process: node, port: port, data: data, netns: netns, collector: collector)
    }

    /// Waits (bounded) until the log contains `marker`.
    public func waitFor(_ marker: String, seconds: Double) -> Bool { collector.waitFor([marker], seconds: seconds) }

    public func killIfRunning() { process.signal() }

    /// The port of the `gateway listening` line's `address=HOST:PORT`.
    public static func port(in log: String) -> Int? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("gateway listening") }),
              let address = line.split(separator: " ").first(where: { $0.hasPrefix("address=") }),
              let colon = address.lastIndex(of: ":") else { return nil }
        return Int(address[address.index(after: colon)...])
    }

    public func stop() {
        process.signal()
        process.wait()
    }

    /// Whether the node process is still the one started, and running.
    public var isRunning: Bool { process.isRunning }

    /// VmRSS of the node process, MiB.
    public var residentMB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") else { return -1 }
        return kb / 1024
    }

    /// An anonymous `POST /v1/apps/APP/METHOD` with a JSON body; its status and body. Blocking, with a 60 s guard.
    public func call(_ app: String, _ method: String, _ body: String) throws -> (status: Int, body: String) {
        try request("POST", "/v1/apps/\(app)/\(method)", body)
    }

    /// An anonymous request; its status and body. Blocking, with a 60 s guard.
    public func request(_ verb: String, _ path: String, _ body: String = "") throws -> (status: Int, body: String) {
        let fd = try netns.map { try NetworkNamespace.socket(in: $0) } ?? socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        defer { close(fd) }
        var guardTime = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guardTime, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect: errno \(errno)") }
        let request = "\(verb) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Connection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw TestFailure("send: errno \(errno)")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n").first, let status = Int(statusLine.split(separator: " ")[1]),
              let split = text.range(of: "\r\n\r\n") else { throw TestFailure("no HTTP response: \(text)") }
        return (status, String(text[split.upperBound...]))
    }
}
