import Foundation
import SynTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import SynConfig
import SynGateway
import SynRuntime
import SynHTTPSig
import SynSodium
import Testing

/// A real node in this process: its own data, manifests and profiles directories, the hello and hostile C apps
/// built with `cc`, real sandboxed workers, and the real gateway on a loopback port.
final class LiveNode: @unchecked Sendable {
    let root: String
    let runtime: NodeRuntime
    let port: Int
    let owner: SigningKey
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }
    var data: String { root + "/data" }

    /// `gateway` lines replace node.toml's `[gateway]` keys; `limits` lines override the test profile's `[limits]`.
    /// With `foodmesh`, FoodMesh runs too (four workers: the suites that do not need it do not pay for it).
    /// An app a test adds: a C source built for it (`defines` such as `-DAPP_ID="relay_a"`), and its manifest.
    struct ExtraApp {
        let id: String
        let source: String
        var defines: [String] = []
        let manifest: String
        /// `[limits]` lines of a profile named after the app, made from the default one (the manifest names it).
        var limits: String? = nil
    }

    /// `extra` apps are added to the node; `editNodeToml` may change the node.toml written for them all.
    private static func start(gateway: String = "", limits: String = "", foodmesh: Bool = false, messaging: Bool = false,
                              extra: [ExtraApp] = [], editNodeToml: (String) -> String = { $0 }) async throws -> LiveNode {
        let root = Paths.scratch + "/node-\(UInt32.random(in: 0...UInt32.max))"
        let fm = FileManager.default
        for dir in ["manifests", "profiles", "data", "keys"] { try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true) }
        chmod(root, 0o755)
        chmod(root + "/manifests", 0o755)
        try Paths.buildC("Plugins/Examples/hello-c/hello.c", output: root + "/manifests/libhello.so")
        try Paths.buildC("Tests/HostileApps/hostile.c", output: root + "/manifests/libhostile.so")
        try Paths.buildC("Tests/HostileApps/store.c", output: root + "/manifests/libstore.so")
        try """
            [app]
            id = "store"
            name = "Store"
            version = "1"
            abi = 1
            library = "libstore.so"
            [capabilities]
            storage.kv = true
            timers = true
            [methods]
            public = ["put", "get", "timer", "scan"]
            """.write(toFile: root + "/manifests/store.toml", atomically: true, encoding: .utf8)
        try fm.copyItem(atPath: Paths.root + "/manifests/hello.toml", toPath: root + "/manifests/hello.toml")
        try """
            [app]
            id = "hostile"
            name = "Hostile"
            version = "1"
            abi = 1
            library = "libhostile.so"
            [sandbox]
            profile = "gatewaytest"
            [methods]
            public = ["ping", "spin", "slow", "null_deref"]
            """.write(toFile: root + "/manifests/hostile.toml", atomically: true, encoding: .utf8)
        // The default profile with test limits: short call timeout, one instance, a queue of one.
        var profile = try String(contentsOfFile: Paths.root + "/sandbox-profiles/default.toml", encoding: .utf8)
        profile = profile.replacingOccurrences(of: "name = \"default\"", with: "name = \"gatewaytest\"")
        try profile.write(toFile: root + "/profiles/gatewaytest.toml", atomically: true, encoding: .utf8)
        for shipped in ["default", "swift"] {
            try fm.copyItem(atPath: Paths.root + "/sandbox-profiles/\(shipped).toml", toPath: root + "/profiles/\(shipped).toml")
        }
        if !limits.isEmpty { try Self.setLimits(limits, in: root + "/profiles/gatewaytest.toml") }
        // FoodMesh runs four workers here, so its stock is contended by processes, not only by queued calls.
        if foodmesh {
            var swift4 = try String(contentsOfFile: Paths.root + "/sandbox-profiles/swift.toml", encoding: .utf8)
            swift4 = swift4.replacingOccurrences(of: "name = \"swift\"", with: "name = \"swift4\"")
            try swift4.write(toFile: root + "/profiles/swift4.toml", atomically: true, encoding: .utf8)
            try Self.setLimits("instances = 4", in: root + "/profiles/swift4.toml")
            try String(contentsOfFile: Paths.root + "/manifests/foodmesh.toml", encoding: .utf8)
                .replacingOccurrences(of: "profile = \"swift\"", with: "profile = \"swift4\"")
                .write(toFile: root + "/manifests/foodmesh.toml", atomically: true, encoding: .utf8)
        }
        let (owner, _) = try KeyFile.loadOrCreate(path: root + "/keys/owner.key")
        try """
            [app]
            id = "kit"
            name = "SynAppKit test app"
            version = "1.0.0"
            abi = 1
            library = "libKitTestApp.so"
            [sandbox]
            profile = "swift"
            [capabilities]
            storage.kv = true
            storage.sql = true
            identity.sign = true
            timers = true
            events.publish = ["kit.*"]
            calls = ["relay_b:whoami"]
            [methods]
            public = ["kv.get"]
            """.write(toFile: root + "/manifests/kit.toml", atomically: true, encoding: .utf8)
        try fm.copyItem(atPath: Paths.root + "/manifests/homeservices.toml", toPath: root + "/manifests/homeservices.toml")
        for app in extra {
            try Paths.buildC(app.source, output: root + "/manifests/lib\(app.id).so", extra: app.defines)
            try app.manifest.write(toFile: root + "/manifests/\(app.id).toml", atomically: true, encoding: .utf8)
            if let limits = app.limits {
                let text = try String(contentsOfFile: Paths.root + "/sandbox-profiles/default.toml", encoding: .utf8)
                    .replacingOccurrences(of: "name = \"default\"", with: "name = \"\(app.id)\"")
                try text.write(toFile: root + "/profiles/\(app.id).toml", atomically: true, encoding: .utf8)
                try Self.setLimits(limits, in: root + "/profiles/\(app.id).toml")
            }
        }
        if messaging { try fm.copyItem(atPath: Paths.root + "/manifests/messaging.toml", toPath: root + "/manifests/messaging.toml") }
        let manifests = try (["hello", "hostile", "store", "kit", "homeservices"] + (foodmesh ? ["foodmesh"] : []) + (messaging ? ["messaging"] : [])
                             + extra.map(\.id))
            .map { try AppManifest.load(path: root + "/manifests/\($0).toml") }
        var toml = NodeConfig.granting(manifests, owners: [Base64URL.encode(owner.publicKey)])
        for line in gateway.split(separator: "\n") {
            let key = line.split(separator: "=")[0].trimmingCharacters(in: .whitespaces)
            if toml.contains(try Regex("(?m)^\(key) *=")) {
                toml.replace(try Regex("(?m)^\(key) *=.*$"), with: String(line))
            } else {
                toml = toml.replacingOccurrences(of: "[gateway]\n", with: "[gateway]\n\(line)\n")
            }
        }
        try editNodeToml(toml).write(toFile: root + "/data/node.toml", atomically: true, encoding: .utf8)
        return try await LiveNode(root: root, owner: owner)
    }

    /// Replaces `key = value` lines of the profile's `[limits]` table.
    static func setLimits(_ lines: String, in path: String) throws {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        for line in lines.split(separator: "\n") {
            let key = line.split(separator: "=")[0].trimmingCharacters(in: .whitespaces)
            let pattern = try Regex("(?m)^\(key) *=.*$")
            if text.contains(pattern) { text.replace(pattern, with: String(line)) } else {
                text = text.replacingOccurrences(of: "[limits]\n", with: "[limits]\n\(line)\n")
            }
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// A new node over `previous`'s directories (stopped first): the same data, keys and node.toml.
    private static func reopen(_ previous: LiveNode) async throws -> LiveNode {
        try await LiveNode(root: previous.root, owner: previous.owner)
    }

    private init(root: String, owner: SigningKey) async throws {
        self.root = root
        self.owner = owner
        var logger = Logger(label: "test-node")
        logger.logLevel = .warning
        runtime = try NodeRuntime(layout: NodeLayout(data: root + "/data", manifests: root + "/manifests", profiles: root + "/profiles",
                                                     libraryDirectories: [Paths.products], worker: Paths.products + "/synapp-worker"),
                                  logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Gateway.application(runtime: runtime, metrics: GatewayMetrics(), logger: logger, address: ("127.0.0.1", 0)) { port in
            continuation.yield(port)
            continuation.finish()
        }
        group = ServiceGroup(configuration: .init(services: [.init(service: NodeService(runtime: runtime)), .init(service: app)],
                                                  logger: logger))
        let group = self.group
        task = Task { try await group.run() }
        var bound = -1
        for await p in ports { bound = p }
        port = bound
        try #require(port > 0, "the gateway did not start")
        // The workers start with the group; wait (bounded) for the apps to answer.
        for _ in 0..<500 where runtime.apps().contains(where: { $0.state != "running" }) { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// Runs `body` with a fresh node (see `start`) and stops the node when `body` returns or throws.
    static func with<R>(gateway: String = "", limits: String = "", foodmesh: Bool = false, messaging: Bool = false, extra: [ExtraApp] = [],
                        editNodeToml: (String) -> String = { $0 }, _ body: (LiveNode) async throws -> R) async throws -> R {
        try await scoped(try await start(gateway: gateway, limits: limits, foodmesh: foodmesh, messaging: messaging, extra: extra,
                                         editNodeToml: editNodeToml), body)
    }

    /// Runs `body` with `previous`'s directories opened by a new node, and stops it when `body` returns or throws.
    static func reopened<R>(_ previous: LiveNode, _ body: (LiveNode) async throws -> R) async throws -> R {
        try await scoped(try await reopen(previous), body)
    }

    private static func scoped<R>(_ node: LiveNode, _ body: (LiveNode) async throws -> R) async throws -> R {
        do {
            let result = try await body(node)
            await node.stop()
            return result
        } catch {
            await node.stop()
            throw error
        }
    }

    /// Graceful shutdown, as SIGTERM would do it (again: nothing more happens).
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    // MARK: - Requests

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        var jsonArray: Any? { try? JSONSerialization.jsonObject(with: body) }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    /// One request; `sign` adds an RFC 9421 signature by `sign`'s key; `headers` are sent as given.
    func request(_ method: String, _ path: String, body: String = "", sign key: SigningKey? = nil,
                 headers: [(String, String)] = []) async throws -> Reply {
        let url = base + path
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        if !body.isEmpty { request.httpBody = Data(body.utf8) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let key {
            let signed = try RequestSigner(key: key).sign(method: method, url: url, body: Array(body.utf8),
                                                          created: Int64(Date().timeIntervalSince1970))
            for field in signed.fields { request.setValue(field.value, forHTTPHeaderField: field.name) }
        }
        return try await Self.send(request)
    }

    static func send(_ request: URLRequest) async throws -> Reply {
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, headers: headers, body: data)
    }
}

/// Repository paths and the C compiler, as app developers build apps.
enum Paths {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let products: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("synapp-worker").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    static let scratch: String = {
        let dir = NSTemporaryDirectory() + "syneroym-gateway-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        return dir
    }()

    /// Each source is compiled once per process, one build at a time (Foundation's `Process.run` is not safe to
    /// call from many threads at once on Linux), then copied where the node wants it.
    private static let builds = NSLock()
    nonisolated(unsafe) private static var built: [String: String] = [:]

    static func buildC(_ source: String, output: String, extra: [String] = []) throws {
        builds.lock()
        defer { builds.unlock() }
        let key = ([source] + extra).joined(separator: " ")
        if built[key] == nil {
            let compiled = scratch + "/\(built.count)-" + (source as NSString).lastPathComponent + ".so"
            let cc = try ProcessLauncher.run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-O1", "-I", root + "/PluginABI/include"]
                                                 + extra + ["-o", compiled, root + "/" + source])
            try #require(cc.status == 0, "cc failed for \(source): \(cc.output)")
            built[key] = compiled
        }
        if let compiled = built[key] { try FileManager.default.copyItem(atPath: compiled, toPath: output) }
    }

    /// Runs the `syneroym` CLI; its exit status and output (stdout and stderr together).
    static func cli(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try ProcessLauncher.run(products + "/syneroym", arguments, environment: environment)
    }
}
