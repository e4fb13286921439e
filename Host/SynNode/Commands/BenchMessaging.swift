import ArgumentParser
import Foundation
import SynHTTPSig
import SynRuntime
import SynSodium
import SynSystem
import Synchronization

/// Messaging ingest through the real gateway (in this process, on a loopback port): 64 people post text envelopes,
/// each signed by its author and sent in a signed request, into one group; the app verifies, stores and indexes
/// each. Beside it, signed echo calls to the hello app by the same clients in the same run, the CPU each costs, and
/// the Messaging worker's proportional memory afterwards.
struct BenchMessaging: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "messaging", abstract: "Messaging envelopes ingested a second and memory (JSON).")
    @Option(help: "Directory holding messaging.toml and hello.toml.") var manifests: String = "manifests"
    @Option(help: "Directory of sandbox profiles.") var profiles: String = "sandbox-profiles"
    @Option(help: "Concurrent people posting, and clients for echo.") var clients: Int = 64
    @Option(help: "Seconds of each ingest and echo run.") var seconds: Double = 5

    /// One person's device: the sequence number and clock of their next envelope.
    final class Device: Sendable {
        let key: SigningKey
        let next = Mutex((seq: Int64(1), hlc: Int64(0)))
        init(_ key: SigningKey) { self.key = key }

        func envelope(_ conversation: String, _ kind: String, _ body: String) -> String {
            let (seq, hlc) = next.withLock { n in
                n.hlc = max(n.hlc + 1, Int64(Date().timeIntervalSince1970 * 1000) * 1000)
                defer { n.seq += 1 }
                return (n.seq, n.hlc)
            }
            let author = Base64URL.encode(key.publicKey)
            let signed = Array("syneroym-message-v1\n\(conversation)\n\(author)\n\(seq)\n\(hlc)\n\(kind)\n".utf8) + Array(body.utf8)
            let signature = Base64URL.encode(key.sign(domain: .app("messaging"), signed))
            return #"{"envelope":{"conversation_id":"\#(conversation)","author":"\#(author)","seq":\#(seq),"hlc":\#(hlc),"kind":"\#(kind)","body":\#(JSONText.string(body)),"signature":"\#(signature)"}}"#
        }
    }

    func run() async throws {
        let node = try await BenchNode(label: "msg", apps: ["messaging", "hello"], manifests: manifests, profiles: profiles) { toml in
            var toml = toml
            toml.replace(try Regex("(?m)^replay_cache_entries *=.*$"), with: "replay_cache_entries = 1000000")
            return toml.replacingOccurrences(of: "[gateway]\n", with: "[gateway]\nreplay_entries_per_client = 1000000\n")
        }
        let (root, runtime, port) = (node.root, node.runtime, node.port)
        _ = try runtime.setEnabled(false, app: "hello", actor: "bench")
        let people = try (0..<clients).map { Device(try KeyFile.loadOrCreate(path: root + "/person\($0).key").key) }
        let keys = people.map(\.key)
        let group = "g-bench"
        let members = people.dropFirst().map { "\"" + Base64URL.encode($0.key.publicKey) + "\"" }.joined(separator: ",")
        let connection = try await HTTPConnection(host: "127.0.0.1", port: port)
        _ = try await BenchFoodMesh.call(connection, "messaging", "messages.post",
                                         people[0].envelope(group, "create", #"{"kind":"group","title":"Bench","members":[\#(members)]}"#), port, keys[0])
        await connection.close()
        let byKey = Dictionary(uniqueKeysWithValues: people.map { (Base64URL.encode($0.key.publicKey), $0) })
        let words = BenchFoodMesh.words
        let cpuBefore = BenchHomeServices.cpuNs()
        let posted = try await BenchFoodMesh.load(port: port, clients: keys, seconds: seconds) { connection, key in
            guard let device = byKey[Base64URL.encode(key.publicKey)] else { return }
            let text = "\(words[Int.random(in: 0..<words.count)]) today at \(Int.random(in: 8...18)):00?"
            _ = try await BenchFoodMesh.call(connection, "messaging", "messages.post", device.envelope(group, "text", text), port, key)
        }
        let cpuPosted = BenchHomeServices.cpuNs()
        let pss = BenchHomeServices.workerPSS()
        // Every post is in the log: page through it (plus the create).
        let reader = try await HTTPConnection(host: "127.0.0.1", port: port)
        var stored = 0, after = ""
        while true {
            let page = try await BenchFoodMesh.call(reader, "messaging", "messages.history",
                                                    #"{"conversation_id":"\#(group)","limit":200,"after":"\#(after)"}"#, port, keys[1])
            let json = try JSONSerialization.jsonObject(with: Data(page)) as? [String: Any] ?? [:]
            stored += (json["envelopes"] as? [Any])?.count ?? 0
            guard let next = json["next"] as? String else { break }
            after = next
        }
        await reader.close()

        let (echo, cpuEchoBefore, cpuEcho) = try await BenchFoodMesh.echo(runtime, port: port, clients: keys, seconds: seconds)
        await node.stop()
        let perCall = BenchFoodMesh.perCall
        let rate = Double(posted) / seconds, echoes = Double(echo) / seconds
        print(JSONText.object([
            ("clients", "\(clients)"),
            ("messages_per_s", JSONText.number(rate, places: 1)),
            ("echo_per_s", JSONText.number(echoes, places: 1)),
            ("messages_vs_echo", JSONText.number(rate / max(echoes, 1), places: 3)),
            ("worker_cpu_us_per_message", perCall(cpuPosted.workers - cpuBefore.workers, posted)),
            ("node_cpu_us_per_message", perCall(cpuPosted.node - cpuBefore.node, posted)),
            ("worker_cpu_us_per_echo", perCall(cpuEcho.workers - cpuEchoBefore.workers, echo)),
            ("node_cpu_us_per_echo", perCall(cpuEcho.node - cpuEchoBefore.node, echo)),
            ("posted", "\(posted)"), ("stored", "\(stored - 1)"),
            ("messaging_worker_pss_kb", "\(pss)"),
            ("targets", #"{"messages_per_s": ">= 5000", "messaging_worker_pss_kb": "< 10240"}"#),
        ]))
    }
}
