import ArgumentParser
import Foundation
import NIOPosix
import SynBroker
import SynConfig
import SynFederation
import SynSodium
import Synchronization
import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// `net_send` between two real nodes (`syneroym run`, release, each its own process and data directory) linked over
/// loopback, with the netbench app (Benchmarks/netbench.c) on both:
///   - latency: one message at a time from A's app to B's `on_event`, timed inside the apps (the payload carries
///     A's CLOCK_MONOTONIC time; B takes the difference), against a GnuTLS ping-pong of the same size between two
///     plain processes (`bench tlsping`), measured in the same run;
///   - throughput: `messages` sent in calls of 1,000, until B's app has applied every one exactly once;
///   - memory: node A's own anonymous memory before and after its link to B is up and idle, and the PSS of an idle
///     node with the shipped apps (manifests/) and every process it started, measured alone.
struct BenchNet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "net", abstract: "net_send latency, throughput and link memory (JSON).")
    @Option(help: "Messages timed one at a time.") var samples: Int = 300
    @Option(help: "Messages for the throughput run.") var messages: Int = 20_000
    @Option(help: "Directory of the shipped manifests (for the idle PSS).") var manifests: String = "manifests"
    @Option(help: "Directory of sandbox profiles.") var profiles: String = "sandbox-profiles"
    @Option(help: "Further idle links made to node A to measure what each costs.") var extraLinks: Int = 20

    func run() async throws {
        let root = NSTemporaryDirectory() + "syneroym-bench-net-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bin = NodePaths.products + "/syneroym"
        let ping = try Self.captureJSON(bin, ["bench", "tlsping", "--bytes", "19", "--count", "\(max(samples * 10, 2000))"])

        var nodes: [(data: String, invite: String)] = []
        for name in ["a", "b"] {
            let dir = root + "/" + name
            try FileManager.default.createDirectory(atPath: dir + "/manifests", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "Benchmarks/netbench.toml", toPath: dir + "/manifests/netbench.toml")
            _ = try Self.capture(ProcessInfo.processInfo.environment["CC"] ?? "cc",
                                 ["-shared", "-fPIC", "-O2", "-I", "PluginABI/include", "-o", dir + "/manifests/libnetbench.so", "Benchmarks/netbench.c"])
            _ = try Self.capture(bin, ["init", "--data", dir + "/data", "--manifests", dir + "/manifests"])
            let toml = try String(contentsOfFile: dir + "/data/node.toml", encoding: .utf8)
            // A also accepts any node: the bench links `extraLinks` more to it to measure what each costs.
            try (toml + "\n[federation]\nlisten = \"127.0.0.1:\(try Self.freePort())\"\n" + (name == "a" ? "accept = [\"*\"]\n" : ""))
                .write(toFile: dir + "/data/node.toml", atomically: true, encoding: .utf8)
            nodes.append((dir, try Self.capture(bin, ["peers", "invite", "--data", dir + "/data"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        _ = try Self.capture(bin, ["peers", "add", nodes[1].invite, "--data", nodes[0].data + "/data"])
        _ = try Self.capture(bin, ["peers", "add", nodes[0].invite, "--data", nodes[1].data + "/data"])
        let idB = String(nodes[1].invite.prefix { $0 != "@" })
        chmod(root, 0o755)

        let a = try NodeProcess(bin, dir: nodes[0].data, profiles: profiles, apps: 1)
        defer { a.stop() }
        try await Task.sleep(for: .seconds(2))
        let alonePrivate = Self.privateKB(a.pid)
        let b = try NodeProcess(bin, dir: nodes[1].data, profiles: profiles, apps: 1)
        defer { b.stop() }
        guard a.waitFor("event=link.up", seconds: 60) else { throw CLIError("error: the nodes did not link: \(a.log.suffix(2000))") }
        try await Task.sleep(for: .seconds(2))
        let linkedPrivate = Self.privateKB(a.pid)

        // What each further idle link costs A: `extraLinks` more nodes (link services in this process, each with its
        // own key) link to it and stay idle.
        let invite = try PeerAddress(parsing: nodes[0].invite)
        var extra: [LinkService] = []
        for i in 0..<extraLinks {
            let dir = root + "/extra\(i)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let service = LinkService(key: try SigningKey.generate(), settings: FederationSettings(), peers: try PeerStore(path: dir + "/node.db"),
                                      witnesses: try WitnessStore(path: dir + "/node.db"), group: MultiThreadedEventLoopGroup.singleton,
                                      head: { nil }, audit: { _, _, _ in })
            service.dial(invite)
            extra.append(service)
        }
        var up = 0
        for _ in 0..<600 {
            up = extra.filter { $0.states().first?.phase == .connected }.count
            if up == extraLinks { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard up == extraLinks else { throw CLIError("error: only \(up) of \(extraLinks) further links came up") }
        try await Task.sleep(for: .seconds(2))
        let manyPrivate = Self.privateKB(a.pid)
        for service in extra { await service.stop() }

        // Latency, one message at a time: 50 to warm up, then `samples` spaced 3 ms apart (B is not polled while
        // they arrive, so the poll does not compete with them for the machine).
        let send = #"{"peer":"\#(idB)","count":1}"#
        for _ in 0..<50 { try await a.call("send", send) }
        try await b.waitForCount(50)
        try await b.call("reset", "")
        for _ in 0..<samples {
            try await a.call("send", send)
            try await Task.sleep(for: .milliseconds(3))
        }
        try await b.waitForCount(samples)
        let latency = try await b.stats()

        // Throughput: `messages` in calls of 1,000, until B applied them all.
        try await b.call("reset", "")
        let t0 = MonotonicClock.nowNs()
        for _ in 0..<(messages / 1000) { try await a.call("send", #"{"peer":"\#(idB)","count":1000}"#) }
        try await b.waitForCount(messages / 1000 * 1000)
        let seconds = Double(MonotonicClock.nowNs() - t0) / 1e9
        let total = try await b.stats()

        // An idle node with the shipped apps, and every process it started (alone: A and B would share its pages).
        a.stop()
        b.stop()
        let dir = root + "/shipped"
        _ = try Self.capture(bin, ["init", "--data", dir, "--manifests", manifests])
        let shipped = try NodeProcess(bin, dir: dir, manifests: manifests, profiles: profiles, apps: 2)
        defer { shipped.stop() }
        try await Task.sleep(for: .seconds(3))
        let shippedPss = Self.tree(shipped.pid).reduce(0) { $0 + Self.pss($1) }

        let rtt = ping["tls_pingpong_rtt_us_p50"] as? Double ?? 0
        let p50 = Double(latency[2]) / 1000
        print(JSONText.object([
            ("net_send_one_way_us_p50", JSONText.number(p50)),
            ("net_send_one_way_us_p99", JSONText.number(Double(latency[3]) / 1000)),
            ("tls_pingpong_rtt_us_p50", JSONText.number(rtt)),
            ("ratio_p50_vs_pingpong", JSONText.number(rtt > 0 ? p50 / rtt : 0, places: 2)),
            ("samples", "\(latency[0])"),
            ("throughput_messages_per_s", JSONText.number(Double(total[0]) / seconds, places: 0)),
            ("throughput_applied", "\(total[0])"), ("throughput_distinct", "\(total[1])"),
            ("node_anon_kb_before_link", "\(alonePrivate)"), ("node_anon_kb_idle_link", "\(linkedPrivate)"),
            ("idle_link_kb", "\(linkedPrivate - alonePrivate)"),
            ("extra_links", "\(extraLinks)"), ("node_anon_kb_with_extra_links", "\(manyPrivate)"),
            ("idle_link_kb_each_further", JSONText.number(Double(manyPrivate - linkedPrivate) / Double(max(extraLinks, 1)), places: 1)),
            ("idle_node_with_shipped_apps_pss_kb", "\(shippedPss)"),
        ]))
    }

    /// Runs a child to its end; its stdout (its JSON object's fields when it printed one). Fails on a non-zero exit.
    @discardableResult
    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError("error: \(executable) \(arguments.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    static func captureJSON(_ executable: String, _ arguments: [String]) throws -> [String: Any] {
        let text = try capture(executable, arguments)
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw CLIError("error: no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// PSS of one process, KiB.
    static func pss(_ pid: Int32) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Pss:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Anonymous memory of one process (heap, stacks), KiB: what it allocated, whoever else maps the same files
    /// (PSS and private counts move when another process maps the same binary).
    static func privateKB(_ pid: Int32) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Anonymous:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// A process and all its descendants.
    static func tree(_ pid: Int32) -> [Int32] {
        var all = [pid]
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            for child in children.split(separator: " ").compactMap({ Int32($0) }) { all += tree(child) }
        }
        return all
    }
}

/// A `syneroym run` for the benchmark: its log, gateway port and netbench calls.
final class NodeProcess: Sendable {
    let process: Process
    private let logText = TextBuffer()
    let port: Int
    var pid: Int32 { process.processIdentifier }
    var log: String { logText.text.withLock { $0 } }

    init(_ bin: String, dir: String, manifests: String? = nil, profiles: String, apps: Int) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["run", "--data", dir + (manifests == nil ? "/data" : ""), "--manifests", manifests ?? dir + "/manifests",
                             "--profiles", profiles, "--listen", "127.0.0.1:0"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let handle = errors.fileHandleForReading
        let text = logText
        Thread.detachNewThread {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                text.text.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
        }
        var found = 0
        for _ in 0..<600 {
            let log = text.text.withLock { $0 }
            if let line = log.split(separator: "\n").first(where: { $0.contains("gateway listening") }),
               let range = line.range(of: "address=127.0.0.1:"), log.components(separatedBy: "event=started(").count > apps {
                found = Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
                break
            }
            usleep(100_000)
        }
        guard found > 0 else {
            process.terminate()
            throw CLIError("error: the node did not start: \(text.text.withLock { $0 }.suffix(2000))")
        }
        port = found
    }

    func waitFor(_ marker: String, seconds: Double) -> Bool {
        for _ in 0..<Int(seconds * 10) {
            if log.contains(marker) { return true }
            usleep(100_000)
        }
        return false
    }

    func call(_ method: String, _ body: String) async throws {
        let reply = try await HTTPClient.send("POST", "http://127.0.0.1:\(port)/v1/apps/netbench/" + method,
                                              headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        guard reply.status == 200 else { throw CLIError("error: \(method): \(String(decoding: reply.body, as: UTF8.self))") }
    }

    /// received, distinct, p50 ns, p99 ns.
    func stats() async throws -> [Int] {
        let reply = try await HTTPClient.send("POST", "http://127.0.0.1:\(port)/v1/apps/netbench/stats",
                                              headers: [("Content-Type", "application/json")], body: [])
        let numbers = String(decoding: reply.body, as: UTF8.self).split { !$0.isNumber }.compactMap { Int($0) }
        guard reply.status == 200, numbers.count == 4 else { throw CLIError("error: stats: \(String(decoding: reply.body, as: UTF8.self))") }
        return numbers
    }

    /// Waits (at most two minutes) until the app received `count` messages, asking every millisecond with a query
    /// that costs the node little (the poll competes with the messages for the machine's two cores).
    func waitForCount(_ count: Int) async throws {
        let deadline = MonotonicClock.nowNs() + 120_000_000_000
        while MonotonicClock.nowNs() < deadline {
            let reply = try await HTTPClient.send("POST", "http://127.0.0.1:\(port)/v1/apps/netbench/count",
                                                  headers: [("Content-Type", "application/json")], body: [])
            let received = String(decoding: reply.body, as: UTF8.self).split { !$0.isNumber }.compactMap { Int($0) }.first ?? 0
            if reply.status == 200, received >= count { return }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw CLIError("error: \(count) messages did not arrive within two minutes")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// Text appended by one thread and read by others.
final class TextBuffer: Sendable {
    let text = Mutex("")
}
