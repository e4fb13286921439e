import ArgumentParser
import Foundation
import SynBroker
import SynConfig

/// How a client command reaches a node: the gateway's URL and the key it signs with.
struct ClientOptions: ParsableArguments {
    @OptionGroup var dataOption: DataOption
    @Option(name: .customLong("as"), help: "Sign with this key from `syneroym keys list`.") var key: String = "default"
    @Option(help: "The node's gateway URL (default: http:// + node.toml [gateway] listen in --data, else http://127.0.0.1:7420).")
    var node: String?

    /// The gateway's base URL, without a trailing slash.
    /// In order: `--node`; the address a node running on `--data` noted in `node.lock`; node.toml's `listen`;
    /// else `http://127.0.0.1:7420` when `--data` was left at its default. A `--data` that does not exist is an error.
    func baseURL() throws(CLIError) -> String {
        if let node { return node.hasSuffix("/") ? String(node.dropLast()) : node }
        let data = dataOption.data
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), isDirectory.boolValue else {
            if data == DataOption.homeDefault { return "http://127.0.0.1:7420" }
            throw CLIError("error: there is no node data directory at \(data) (syneroym init --data \(data) creates one; "
                           + "--node URL reaches a node elsewhere)")
        }
        if let address = DataDirectoryLock.holder(directory: data)?.address {
            return "http://" + Self.reachable(address)
        }
        let path = data + "/node.toml"
        guard FileManager.default.fileExists(atPath: path) else { return "http://127.0.0.1:7420" }
        let config = try NodeSetup.load(path)
        guard let (host, port) = config.gateway.hostAndPort else { return "http://127.0.0.1:7420" }
        return "http://" + Self.reachable(GatewaySettings.authority(host: host, port: port))
    }

    /// `host:port` as a client reaches it: a node listening on every address is reached on loopback.
    static func reachable(_ address: String) -> String {
        if address.hasPrefix("0.0.0.0:") { return "127.0.0.1" + address.dropFirst("0.0.0.0".count) }
        if address.hasPrefix("[::]:") { return "[::1]" + address.dropFirst("[::]".count) }
        if address.hasPrefix(":::") { return "[::1]:" + address.dropFirst(":::".count) }
        return address
    }
}
