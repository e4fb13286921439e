import ArgumentParser
import Foundation
import SynBroker
import SynConfig
import SynFederation
import SynSodium
import SynSystem

/// `syneroym peers`: the other nodes this node links with. These commands edit the stopped node's data directory
/// (a running node holds it, and reads its peers when it starts); the owner-signed admin routes come next.
struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The nodes this node links with (edit them while the node is stopped).",
        subcommands: [PeersInvite.self, PeersAdd.self, PeersList.self, PeersRemove.self])

    /// The data directory's peers, with the directory held so that no node runs on it meanwhile.
    static func withPeers<R>(_ data: String, _ body: (PeerStore) throws -> R) throws -> R {
        let lock: DataDirectoryLock
        do { lock = try DataDirectoryLock(directory: data) } catch {
            throw CLIError("error: \(error.message); stop the node first (peers are read when it starts)", code: 2)
        }
        defer { lock.release() }
        let store: PeerStore
        do { store = try PeerStore(path: data + "/node.db") } catch { throw CLIError("error: \(error.message)", code: 2) }
        defer { store.close() }
        return try body(store)
    }
}

/// `peers invite`: this node's id and link address, the line another owner pastes into `peers add`.
struct PeersInvite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: "Print NODE_ID@HOST:PORT for another owner's `syneroym peers add`.")
    @OptionGroup var options: DataOption
    @Option(help: "The host other nodes reach this one at (default: node.toml [federation] listen's host).") var host: String?

    func run() throws {
        do {
            let key = try KeyFile.load(path: options.data + "/node.key")
            let config = try NodeConfig.load(path: options.data + "/node.toml")
            guard let (listenHost, port) = config.federation.hostAndPort, port > 0 else {
                throw CLIError("error: this node accepts no links: set [federation] listen = \"0.0.0.0:7421\" (a fixed port) in \(options.data)/node.toml", code: 2)
            }
            let reach = host ?? (listenHost == "0.0.0.0" || listenHost == "::" ? nil : listenHost)
            guard let reach else {
                throw CLIError("error: [federation] listens on every address; say which one other nodes reach with --host", code: 2)
            }
            print(PeerAddress(nodeID: Base64URL.encode(key.publicKey), host: reach, port: port).description)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("error: \(error)", code: 2)
        }
    }
}

/// `peers add NODE_ID@HOST:PORT`: a node to dial and to accept.
struct PeersAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a peer (NODE_ID@HOST:PORT, as `peers invite` prints it).")
    @OptionGroup var options: DataOption
    @Option(help: "A name for it in `peers list`.") var name: String = ""
    // A node id may start with "-": taken as it comes, not as an option.
    @Argument(parsing: .allUnrecognized, help: "NODE_ID@HOST:PORT") var peer: [String] = []

    func run() throws {
        guard peer.count == 1 else { throw CLIError("error: name one peer, NODE_ID@HOST:PORT (as `syneroym peers invite` prints it)", code: 2) }
        let address: PeerAddress
        do { address = try PeerAddress(parsing: peer[0]) } catch { throw CLIError("error: \(error.message)", code: 2) }
        try Peers.withPeers(options.data) { store in
            do throws(FederationError) { try store.add(address, name: name, nowNs: WallClock.nowNs()) } catch { throw CLIError("error: \(error.message)", code: 1) }
        }
        print("added \(address); the node dials it, and accepts it, from its next start")
    }
}

/// `peers list`: the added peers and what this node keeps of each as a witness.
struct PeersList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the added peers.")
    @OptionGroup var options: DataOption

    func run() throws {
        // Read under the directory's lock, as everything here is.
        let lines: [String] = try Peers.withPeers(options.data) { store in
            let witnesses: WitnessStore
            do throws(BrokerError) { witnesses = try WitnessStore(path: options.data + "/node.db") } catch { throw CLIError("error: \(error.message)", code: 2) }
            defer { witnesses.close() }
            return store.list().map { peer in
                let head = Base64URL.decode(peer.address.nodeID).flatMap { witnesses.head(of: $0) }
                return "\(peer.name.isEmpty ? "-" : peer.name)\t\(peer.address)\taudit head \(head.map { "#\($0.seq)" } ?? "none yet")"
            }
        }
        if lines.isEmpty { print("no peers; add one with `syneroym peers add NODE_ID@HOST:PORT`") }
        for line in lines { print(line) }
    }
}

/// `peers remove NODE_ID`.
struct PeersRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a peer.")
    @OptionGroup var options: DataOption
    // A node id may start with "-": taken as it comes, not as an option.
    @Argument(parsing: .allUnrecognized, help: "The peer's node id.") var ids: [String] = []

    func run() throws {
        guard ids.count == 1 else { throw CLIError("error: name one peer by its node id (`syneroym peers list` shows them)", code: 2) }
        let nodeID = ids[0]
        let removed = try Peers.withPeers(options.data) { store in
            do throws(FederationError) { return try store.remove(nodeID) } catch { throw CLIError("error: \(error.message)", code: 1) }
        }
        guard removed else { throw CLIError("error: no peer \(nodeID); `syneroym peers list` shows them", code: 1) }
        print("removed \(nodeID)")
    }
}
