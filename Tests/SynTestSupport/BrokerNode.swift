import Foundation
public import SynBroker
public import SynConfig
public import SynSandbox

/// A data directory with a node.toml, a broker, and the store app (and optionally a second one) registered.
public struct BrokerNode {
    public let data: String
    public let broker: Broker
    public let manifests: [String: AppManifest]

    public init(grants: String = "storage.kv = true\nstorage.sql = true\nidentity.sign = true", quotaMB: Int = 64,
         apps: [String] = ["store"], capabilities: [String: String] = [:], data existing: String? = nil,
         settings: String = "") throws {
        data = existing ?? TestSupport.scratch + "/broker-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var toml = ""
        for app in apps {
            toml += "[apps.\(app)]\nstorage_quota_mb = \(quotaMB)\n\(settings)\n[apps.\(app).grants]\n\(grants)\n\(capabilities[app] ?? "")\n"
        }
        try toml.write(toFile: data + "/node.toml", atomically: true, encoding: .utf8)
        let node = try NodeConfig.load(path: data + "/node.toml")
        broker = try Broker(dataDirectory: data, node: node)
        var manifests: [String: AppManifest] = [:]
        for app in apps {
            var m = try AppManifest.parse("""
                [app]
                id = "\(app)"
                name = "\(app)"
                version = "1"
                abi = 1
                library = "lib\(app).so"
                [capabilities]
                storage.kv = true
                storage.sql = true
                identity.sign = true
                \(capabilities[app] ?? "")
                """, file: "manifests/\(app).toml")
            m.path = "manifests/\(app).toml"
            try broker.register(m)
            manifests[app] = m
        }
        self.manifests = manifests
    }

    public func start(_ app: String = "store", hostCalls: (any HostCallHandler)? = nil) throws -> WorkerProcess {
        try WorkerProcess.start(try spec(app), hostCalls: hostCalls ?? broker)
    }

    public func spec(_ app: String) throws -> WorkerSpec {
        let lib = try TestSupport.buildC("Tests/HostileApps/store.c", name: app, extraFlags: ["-DAPP_ID=\"\(app)\""])
        return try TestSupport.spec(appID: app, library: lib)
    }

    /// Calls `method` with a text body; the reply body as text.
    public static func call(_ w: WorkerProcess, _ method: String, _ body: String = "") throws -> String {
        String(decoding: try w.handle(method: method, body: Array(body.utf8)).body, as: UTF8.self)
    }
}
