import ArgumentParser
import Foundation
import SynBroker
import SynConfig
import SynFederation
import SynSodium
import SynSystem

/// `syneroym peers`: the other nodes this node links with. On a running node (one holds `--data`, or `--node`
/// names one) `add`, `list` and `remove` go through its owner-signed admin routes and take effect at once; on a
/// stopped node they edit its data directory, read when it starts.
struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The nodes this node links with.",
        subcommands: [PeersInvite.self, PeersAdd.self, PeersList.self, PeersRemove.self])

    /// Whether to ask a running node: `--node` was given, or a node holds the data directory.
    static func online(_ client: ClientOptions) -> Bool {
        client.node != nil || DataDirectoryLock.holder(directory: client.dataOption.data) != nil
    }

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
            // A running node says where it accepts links (`run --links-listen` may differ from node.toml).
            let running = DataDirectoryLock.holder(directory: options.data)?.links.flatMap(GatewaySettings.split)
            guard let (listenHost, port) = running ?? config.federation.hostAndPort, port > 0 else {
                throw CLIError("error: this node accepts no links: set [federation] listen = \"0.0.0.0:7421\" (a fixed port) in \(options.data)/node.toml, or run it with --links-listen HOST:PORT", code: 2)
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
struct PeersAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a peer (NODE_ID@HOST:PORT, as `peers invite` prints it).")
    @OptionGroup var client: ClientOptions
    @Option(help: "A name for it in `peers list`.") var name: String = ""
    // A node id may start with "-": taken as it comes, not as an option.
    @Argument(parsing: .allUnrecognized, help: "NODE_ID@HOST:PORT") var peer: [String] = []

    func run() async throws {
        guard peer.count == 1 else { throw CLIError("error: name one peer, NODE_ID@HOST:PORT (as `syneroym peers invite` prints it)", code: 2) }
        let address: PeerAddress
        do { address = try PeerAddress(parsing: peer[0]) } catch { throw CLIError("error: \(error.message)", code: 2) }
        if Peers.online(client) {
            let body = try JSONSerialization.data(withJSONObject: ["peer": address.description, "name": name])
            _ = try await AdminRequest.send(client, "POST", "/v1/admin/peers", body: Array(body))
            print("added \(address); the node dials it now")
            return
        }
        try Peers.withPeers(client.dataOption.data) { store in
            do throws(FederationError) { try store.add(address, name: name, nowNs: WallClock.nowNs()) } catch { throw CLIError("error: \(error.message)", code: 1) }
        }
        print("added \(address); the node dials it, and accepts it, from its next start")
    }
}

/// `peers list`: the added peers, their links on a running node, and what this node keeps of each as a witness.
struct PeersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the peers and their links.")
    @OptionGroup var client: ClientOptions
    var options: DataOption { client.dataOption }

    func run() async throws {
        if Peers.online(client) {
            let object = try await AdminRequest.send(client, "GET", "/v1/admin/peers")
            let peers = object["peers"] as? [[String: Any]] ?? []
            if peers.isEmpty { print("no peers; add one with `syneroym peers add NODE_ID@HOST:PORT`") }
            for p in peers { print(Self.line(p)) }
            return
        }
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
struct PeersRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a peer.")
    @OptionGroup var client: ClientOptions
    // A node id may start with "-": taken as it comes, not as an option.
    @Argument(parsing: .allUnrecognized, help: "The peer's node id.") var ids: [String] = []

    func run() async throws {
        guard ids.count == 1 else { throw CLIError("error: name one peer by its node id (`syneroym peers list` shows them)", code: 2) }
        let nodeID = ids[0]
        if Peers.online(client) {
            _ = try await AdminRequest.send(client, "DELETE", "/v1/admin/peers/\(Call.escape(nodeID))")
            print("removed \(nodeID)")
            return
        }
        let removed = try Peers.withPeers(client.dataOption.data) { store in
            do throws(FederationError) { return try store.remove(nodeID) } catch { throw CLIError("error: \(error.message)", code: 1) }
        }
        guard removed else { throw CLIError("error: no peer \(nodeID); `syneroym peers list` shows them", code: 1) }
        print("removed \(nodeID)")
    }
}

extension PeersList {
    /// One peer of a running node: name, address, link state (or the last error), round trip, and messages.
    static func line(_ p: [String: Any]) -> String {
        let name = (p["name"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "-"
        let address = p["address"] as? String ?? (p["node_id"] as? String ?? "?") + " (not added; [federation] accept)"
        var state = p["state"] as? String ?? "?"
        if state != "connected", let error = p["last_error"] as? String { state += " (\(error))" }
        var fields = [name, address, state]
        if let rtt = p["rtt_ms"] as? Double { fields.append(String(format: "rtt %.1f ms", rtt)) }
        if let m = p["messages"] as? [String: Any] {
            fields.append("queued \(m["queued"] ?? 0) sent \(m["sent"] ?? 0) acked \(m["acked"] ?? 0) retried \(m["retried"] ?? 0)")
        }
        if let head = p["audit_head"] as? [String: Any] { fields.append("audit head #\(head["seq"] ?? "?")") } else { fields.append("audit head none yet") }
        return fields.joined(separator: "\t")
    }
}
