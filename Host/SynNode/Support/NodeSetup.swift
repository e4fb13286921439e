import Foundation
import SynBroker
import SynConfig

/// The data directory, its node.toml and the broker, as `run` and `exec` use them.
enum NodeSetup {
    /// Loads `<data>/node.toml`, writing one that grants `manifests` their requests if there is none.
    static func nodeConfig(data: String, manifests: [AppManifest], announce: Bool) throws(CLIError) -> NodeConfig {
        // Everything the node creates (data directory, databases, their WAL files) is private to its owner.
        umask(0o077)
        let path = data + "/node.toml"
        do { try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true) } catch {
            throw CLIError("error: cannot create the data directory \(data): \(error)")
        }
        if !FileManager.default.fileExists(atPath: path) {
            do { try NodeConfig.granting(manifests).write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw CLIError("error: cannot write \(path): \(error)")
            }
            if announce {
                FileHandle.standardError.write(Data("wrote \(path): each app is granted what its manifest requests; edit it to change that\n".utf8))
            }
        }
        do { return try NodeConfig.load(path: path) } catch { throw CLIError("error: \(error)") }
    }

    /// A broker over `data` with every manifest registered.
    static func broker(data: String, node: NodeConfig, manifests: [AppManifest]) throws(CLIError) -> Broker {
        do {
            let broker = try Broker(dataDirectory: data, node: node)
            for m in manifests { try broker.register(m) }
            return broker
        } catch { throw CLIError("error: \(error.message)") }
    }

    /// Loads a node.toml, with its file, line and key in any error.
    static func load(_ path: String) throws(CLIError) -> NodeConfig {
        do { return try NodeConfig.load(path: path) } catch { throw CLIError("error: \(error)") }
    }
}
