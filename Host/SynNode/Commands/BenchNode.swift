import Foundation
import Logging
import ServiceLifecycle
import SynConfig
import SynGateway
import SynRuntime

/// A node in a benchmark's own process: `apps`' manifests copied into a scratch directory, a node.toml granting
/// them (as `edit` changes it), what `prepare` puts in the data directory, the runtime under `profiles`, and its gateway on a loopback port; ready once every
/// app runs (or after 5 s).
final class BenchNode: @unchecked Sendable {
    let root: String
    let runtime: NodeRuntime
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(label: String, apps: [String], manifests: String, profiles: String, edit: (String) throws -> String,
         prepare: (String) throws -> Void = { _ in }) async throws {
        let root = NSTemporaryDirectory() + "syneroym-bench-\(label)-\(getpid())"
        self.root = root
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/manifests", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
        for app in apps { try fm.copyItem(atPath: manifests + "/\(app).toml", toPath: root + "/manifests/\(app).toml") }
        let loaded = try apps.map { try AppManifest.load(path: root + "/manifests/\($0).toml") }
        try edit(NodeConfig.granting(loaded)).write(toFile: root + "/data/node.toml", atomically: true, encoding: .utf8)
        // Data put in place before the node opens the directory (a large database, say).
        try prepare(root + "/data")
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let runtime = try NodeRuntime(layout: NodeLayout(data: root + "/data", manifests: root + "/manifests", profiles: profiles,
                                                         libraryDirectories: [NodePaths.products], worker: NodePaths.worker), logger: logger)
        self.runtime = runtime
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Gateway.application(runtime: runtime, metrics: GatewayMetrics(), logger: logger, address: ("127.0.0.1", 0)) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: NodeService(runtime: runtime)), .init(service: app)], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var bound = 0
        for await p in ports { bound = p }
        port = bound
        for _ in 0..<500 where runtime.apps().contains(where: { $0.state != "running" }) { try await Task.sleep(for: .milliseconds(10)) }
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Shuts the node down and removes its directory.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? FileManager.default.removeItem(atPath: root)
    }
}
