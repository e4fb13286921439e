import ArgumentParser
import Foundation
import SynBroker
import SynConfig
import SynSodium

/// `syneroym init`: the data directory, the node key and a node.toml granting the shipped manifests what they ask.
struct Init: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the data directory, the node key and node.toml (idempotent).",
        discussion: """
            node.toml grants each manifest in --manifests exactly the capabilities it requests, under the profile it \
            names (`default` unless it asks for another). Running init again changes nothing and says so.
            """)
    @OptionGroup var options: DataOption
    @Option(help: "Directory of the app manifests to grant.") var manifests: String = "manifests"
    @Option(help: "A key allowed to administer the node: a key name from `syneroym keys list`, or a base64url key id. Repeatable.")
    var owner: [String] = []

    func execute() throws(CLIError) {
        umask(0o077)
        let data = options.data
        let tomlPath = data + "/node.toml"
        let hadKey = FileManager.default.fileExists(atPath: data + "/node.key")
        let hadToml = FileManager.default.fileExists(atPath: tomlPath)
        if hadKey && hadToml {
            let node = try NodeSetup.load(tomlPath)
            print("\(data) is already initialised (node.key and node.toml exist); nothing changed")
            if !owner.isEmpty { print("to add owners, edit [node] owners in \(tomlPath)") }
            // Manifests added since: they would start with no grants at all.
            let missing = ((try? AppLoader.manifests(in: manifests)) ?? []).map(\.id).filter { node.apps[$0] == nil }.sorted()
            if !missing.isEmpty {
                print("node.toml has no [apps.<id>] section for: \(missing.joined(separator: ", ")); they start with no grants. "
                      + "Add one with `syneroym apps add MANIFEST`, or write the section in \(tomlPath)")
            }
            return
        }
        let owners = try owner.map { spec throws(CLIError) in try Self.keyID(spec) }
        let loaded = try AppLoader.manifests(in: manifests)
        var written: [String] = []
        do { try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true) } catch {
            throw CLIError("error: cannot create the data directory \(data): \(error.localizedDescription)")
        }
        // Nothing is written while a node holds the directory.
        let lock: DataDirectoryLock
        do { lock = try DataDirectoryLock(directory: data) } catch { throw CLIError("error: \(error.message)") }
        if !hadToml {
            do { try NodeConfig.granting(loaded, owners: owners).write(toFile: tomlPath, atomically: true, encoding: .utf8) } catch {
                throw CLIError("error: cannot write \(tomlPath): \(error.localizedDescription)")
            }
            written.append("node.toml (grants \(loaded.map(\.id).joined(separator: ", ")); owners: \(owners.isEmpty ? "none" : owners.joined(separator: ", ")))")
        }
        let node = try NodeSetup.load(tomlPath)
        let broker: Broker
        do { broker = try Broker(dataDirectory: data, node: node, lock: lock) } catch { throw CLIError("error: \(error.message)") }
        if !hadKey { written.append("node.key (node id \(Base64URL.encode(broker.nodePublicKey)))") }
        broker.audit.append(actor: "node", app: "", action: "config.create", decision: "ok",
                            cause: "syneroym init wrote " + written.joined(separator: " and "))
        broker.close()
        for line in written { print("wrote \(data)/\(line)") }
    }

    /// A key name from the keyring, or a key id as it is.
    static func keyID(_ spec: String) throws(CLIError) -> String {
        if spec.utf8.count == 43, let raw = Base64URL.decode(spec), raw.count == 32 { return spec }
        return Keyring.keyID(try Keyring().load(spec))
    }
}
