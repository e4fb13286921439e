import ArgumentParser
import Foundation
import SynSodium
import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// Messaging across two real nodes (`syneroym run`, release, each its own process and data directory, linked over
/// loopback): ada, at home on A, posts one text at a time into a group with bob, at home on B, and the bench times
/// each from the start of the signed post on A until bob's history on B shows it (polled on a kept-alive
/// connection, about every 0.5 ms). Beside it, the post alone (A's answer).
struct BenchMessagingNet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "messaging-net", abstract: "Messaging post-to-stored latency across two nodes (JSON).")
    @Option(help: "Texts timed one at a time.") var samples: Int = 200
    @Option(help: "Directory holding messaging.toml.") var manifests: String = "manifests"
    @Option(help: "Directory of sandbox profiles.") var profiles: String = "sandbox-profiles"

    func run() async throws {
        let root = NSTemporaryDirectory() + "syneroym-bench-msgnet-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bin = NodePaths.products + "/syneroym"
        var nodes: [(data: String, invite: String)] = []
        for name in ["a", "b"] {
            let dir = root + "/" + name
            try FileManager.default.createDirectory(atPath: dir + "/manifests", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: manifests + "/messaging.toml", toPath: dir + "/manifests/messaging.toml")
            _ = try BenchNet.capture(bin, ["init", "--data", dir + "/data", "--manifests", dir + "/manifests"])
            let toml = try String(contentsOfFile: dir + "/data/node.toml", encoding: .utf8)
            try (toml + "\n[federation]\nlisten = \"127.0.0.1:\(try BenchNet.freePort())\"\n").write(toFile: dir + "/data/node.toml", atomically: true, encoding: .utf8)
            nodes.append((dir, try BenchNet.capture(bin, ["peers", "invite", "--data", dir + "/data"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        _ = try BenchNet.capture(bin, ["peers", "add", nodes[1].invite, "--data", nodes[0].data + "/data"])
        _ = try BenchNet.capture(bin, ["peers", "add", nodes[0].invite, "--data", nodes[1].data + "/data"])
        let idB = String(nodes[1].invite.prefix { $0 != "@" })
        chmod(root, 0o755)
        let a = try NodeProcess(bin, dir: nodes[0].data, profiles: profiles, apps: 1)
        defer { a.stop() }
        let b = try NodeProcess(bin, dir: nodes[1].data, profiles: profiles, apps: 1)
        defer { b.stop() }

        let ada = BenchMessaging.Device(try SigningKey.generate()), bob = try SigningKey.generate()
        let bobID = Base64URL.encode(bob.publicKey), group = "g-latency"
        let toA = try await HTTPConnection(host: "127.0.0.1", port: a.port), onB = try await HTTPConnection(host: "127.0.0.1", port: b.port)
        _ = try await BenchFoodMesh.call(toA, "messaging", "messages.post",
                                         ada.envelope(group, "create", #"{"kind":"group","title":"Latency","members":["\#(bobID)"],"homes":{"\#(bobID)":"\#(idB)"}}"#),
                                         a.port, ada.key)
        // Read bob's history on B after `after`; the newest ord, if anything new is there.
        func newest(after: String) async throws -> String? {
            let page = try await BenchFoodMesh.call(onB, "messaging", "messages.history",
                                                    #"{"conversation_id":"\#(group)","after":"\#(after)","limit":200}"#, b.port, bob)
            let json = try JSONSerialization.jsonObject(with: Data(page)) as? [String: Any] ?? [:]
            return (json["envelopes"] as? [[String: Any]])?.last?["ord"] as? String
        }
        // The link comes up and the create arrives.
        var last = ""
        for _ in 0..<3000 {
            if let ord = try? await newest(after: "") { last = ord; break }
            try await Task.sleep(for: .milliseconds(10))
        }
        guard !last.isEmpty else { throw CLIError("error: the group never reached B") }

        var latencies: [Double] = [], posts: [Double] = []
        for i in 0..<(samples + 10) {
            let start = MonotonicClock.nowNs()
            let posted = try await BenchFoodMesh.call(toA, "messaging", "messages.post", ada.envelope(group, "text", "sample \(i)"), a.port, ada.key)
            let answered = MonotonicClock.nowNs()
            let ord = (try JSONSerialization.jsonObject(with: Data(posted)) as? [String: Any])?["ord"] as? String ?? ""
            while true {
                if let seen = try await newest(after: last), seen >= ord { last = seen; break }
                if MonotonicClock.nowNs() - start > 10_000_000_000 { throw CLIError("error: sample \(i) did not reach B in 10 s") }
            }
            if i >= 10 {
                latencies.append(Double(MonotonicClock.nowNs() - start) / 1e6)
                posts.append(Double(answered - start) / 1e6)
            }
            try await Task.sleep(for: .milliseconds(3))
        }
        await toA.close()
        await onB.close()
        print(JSONText.object([
            ("samples", "\(samples)"),
            ("post_to_stored_on_b_ms_p50", JSONText.number(Stats.quantile(latencies, 0.5), places: 3)),
            ("post_to_stored_on_b_ms_p90", JSONText.number(Stats.quantile(latencies, 0.9), places: 3)),
            ("post_on_a_ms_p50", JSONText.number(Stats.quantile(posts, 0.5), places: 3)),
            ("targets", #"{"post_to_stored_on_b_ms_p50": "< 10"}"#),
        ]))
    }
}
