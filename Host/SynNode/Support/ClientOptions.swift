import ArgumentParser
import Foundation
import SynConfig

/// How a client command reaches a node: the gateway's URL and the key it signs with.
struct ClientOptions: ParsableArguments {
    @OptionGroup var dataOption: DataOption
    @Option(name: .customLong("as"), help: "Sign with this key from `syneroym keys list`.") var key: String = "default"
    @Option(help: "The node's gateway URL (default: http:// + node.toml [gateway] listen in --data, else http://127.0.0.1:7420).")
    var node: String?

    /// The gateway's base URL, without a trailing slash.
    func baseURL() throws(CLIError) -> String {
        if let node { return node.hasSuffix("/") ? String(node.dropLast()) : node }
        let path = dataOption.data + "/node.toml"
        guard FileManager.default.fileExists(atPath: path) else { return "http://127.0.0.1:7420" }
        let config = try NodeSetup.load(path)
        guard let (host, port) = config.gateway.hostAndPort else { return "http://127.0.0.1:7420" }
        // A node listening on every address is reached on loopback.
        let reachable = host == "0.0.0.0" ? "127.0.0.1" : (host == "::" ? "[::1]" : (host.contains(":") ? "[\(host)]" : host))
        return "http://\(reachable):\(port)"
    }
}
