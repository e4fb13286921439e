import Foundation
import SynSQLite
import SynTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `net_send` between two real nodes, each its own `syneroym run` with its own data directory, linked over loopback:
/// the `relay` test app on A sends, the same app on B records each message in its own database. Every message
/// arrives exactly once and in order, whatever happens to either node in between.
@Suite struct NetSendTests {
    static let manifest = """
        [app]
        id = "relay"
        name = "relay"
        version = "1.0.0"
        abi = 1
        library = "librelay.so"
        [sandbox]
        profile = "default"
        [capabilities]
        storage.sql = true
        net.peers = true
        messages.publish = ["relay.*"]
        messages.subscribe = ["relay.*"]
        [methods]
        public = ["send", "sendfail", "received", "publish", "live", "big"]
        """

    /// A node directory with hello and relay, listening for links on a free port; its data directory and invite.
    static func node(_ label: String, listen: String? = nil, federation: String = "") throws -> (dir: String, data: String, invite: String) {
        let dir = try TestSupport.helloNodeDirectory(label)
        let lib = try TestSupport.buildC("Tests/NetApps/relay.c", name: "relay-\(label)")
        try FileManager.default.copyItem(atPath: lib, toPath: dir + "/manifests/librelay.so")
        try manifest.write(toFile: dir + "/manifests/relay.toml", atomically: true, encoding: .utf8)
        let data = dir + "/data"
        let initialized = try CLI.syneroym(["init", "--data", data, "--owner", "default", "--manifests", dir + "/manifests"],
                                           environment: FederationTests.owner)
        try #require(initialized.status == 0, "\(initialized.stderr)")
        let toml = try String(contentsOfFile: data + "/node.toml", encoding: .utf8)
        let address = try listen ?? "127.0.0.1:\(FederationTests.freePort())"
        try (toml + "\n[federation]\nlisten = \"\(address)\"\n" + federation).write(toFile: data + "/node.toml", atomically: true, encoding: .utf8)
        let invite = try CLI.syneroym(["peers", "invite", "--data", data])
        try #require(invite.status == 0, "\(invite.stderr)")
        return (dir, data, invite.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func run(_ node: (dir: String, data: String, invite: String), netns: String? = nil,
                    apps: [String] = ["hello", "relay"]) throws -> ProcessNode {
        try ProcessNode.launch(["run", "--manifests", node.dir + "/manifests", "--profiles", TestSupport.root + "/sandbox-profiles",
                                "--data", node.data, "--listen", "127.0.0.1:0"], data: node.data, apps: apps, netns: netns)
    }

    /// Two nodes that added each other.
    static func pair(_ namespaces: NetworkNamespace? = nil) throws
        -> (a: (dir: String, data: String, invite: String), b: (dir: String, data: String, invite: String), idB: String)
    {
        // In namespaces: fixed ports on the veth addresses, and pings every second, so a cut is noticed in seconds.
        let a = try node("net-a", listen: namespaces.map { "\($0.addressA):7421" }, federation: namespaces == nil ? "" : "ping_s = 1\n")
        let b = try node("net-b", listen: namespaces.map { "\($0.addressB):7421" }, federation: namespaces == nil ? "" : "ping_s = 1\n")
        #expect(try CLI.syneroym(["peers", "add", b.invite, "--name", "b", "--data", a.data]).status == 0)
        #expect(try CLI.syneroym(["peers", "add", a.invite, "--name", "a", "--data", b.data]).status == 0)
        return (a, b, String(b.invite.prefix { $0 != "@" }))
    }

    /// What B's relay recorded: count, distinct sequences, min, max, out of order, payload mismatches.
    static func received(_ node: ProcessNode, from peer: String = "") throws -> [Int] {
        let answer = try node.call("relay", "received", #"{"peer":"\#(peer)"}"#)
        let digits = answer.body.split { !$0.isNumber }.compactMap { Int($0) }
        guard answer.status == 200, digits.count == 6 else { throw TestFailure("received: \(answer)") }
        return digits
    }

    /// Polls B until `count` messages arrived (bounded: a stuck delivery fails the test, it does not hang it).
    static func waitForCount(_ node: ProcessNode, _ count: Int, from peer: String = "") throws -> [Int] {
        var last: [Int] = []
        for _ in 0..<600 {
            last = try received(node, from: peer)
            if last[0] >= count { return last }
            usleep(100_000)
        }
        return last
    }

    static func send(_ node: ProcessNode, to peer: String, _ count: Int) throws -> String {
        let answer = try node.call("relay", "send", #"{"peer":"\#(peer)","count":\#(count)}"#)
        #expect(answer.status == 200, "\(answer.body)")
        return answer.body
    }

    static func integrityCheck(_ path: String) throws -> String {
        let db = try Database(path: path)
        defer { db.close() }
        guard case .text(let result)? = try db.query("PRAGMA integrity_check").first?.first else { return "no answer" }
        return result
    }

    @Test func messagesArriveOnceInOrderAndOnlyIfTheCallCommits() async throws {
        try await offThePool {
            let (a, b, idB) = try Self.pair()
            let nodeA = try Self.run(a), nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }
            #expect(try Self.send(nodeA, to: idB, 100) == "\"sent 100\"")
            // A call that fails takes its message back with its writes.
            let failed = try nodeA.call("relay", "sendfail", #"{"peer":"\#(idB)","count":1}"#)
            #expect(failed.status == 500)
            #expect(try Self.send(nodeA, to: idB, 100) == "\"sent 200\"")
            #expect(try Self.waitForCount(nodeB, 200) == [200, 200, 1, 200, 0, 0])
            // An unknown node is refused at once, naming what would make it a peer.
            let stranger = try nodeA.call("relay", "send", #"{"peer":"\#(String(repeating: "A", count: 43))","count":1}"#)
            #expect(stranger.body.contains("ERR -1") && stranger.body.contains("syneroym peers add"), "\(stranger.body)")
        }
    }

    /// Three nodes, each the peer of the other two, sending both ways at once: every stream (sender, receiver)
    /// arrives whole and in order on its own.
    @Test func threeNodesSendToEachOther() async throws {
        try await offThePool {
            let nodes = try ["net-x", "net-y", "net-z"].map { try Self.node($0) }
            let ids = nodes.map { String($0.invite.prefix { $0 != "@" }) }
            for (i, n) in nodes.enumerated() {
                for (j, other) in nodes.enumerated() where i != j {
                    #expect(try CLI.syneroym(["peers", "add", other.invite, "--data", n.data]).status == 0)
                }
            }
            let running = try nodes.map { try Self.run($0) }
            defer { for n in running { n.stop() } }
            for round in 1...2 {
                for (i, sender) in running.enumerated() {
                    for j in running.indices where j != i {
                        #expect(try Self.send(sender, to: ids[j], 100) == "\"sent \(round * 100)\"")
                    }
                }
            }
            for (j, receiver) in running.enumerated() {
                for i in running.indices where i != j {
                    #expect(try Self.waitForCount(receiver, 200, from: ids[i]) == [200, 200, 1, 200, 0, 0], "\(i)→\(j)")
                }
                #expect(try Self.received(receiver) == [400, 400, 1, 200, 0, 0])
            }
        }
    }

    /// 1,000 messages A→B while B is killed with SIGKILL and restarted, and A is killed and restarted: B's app has
    /// every message exactly once, in order, and both apps' databases pass `integrity_check`.
    @Test func aThousandMessagesSurviveKillsOfEitherNode() async throws {
        try await offThePool {
            let (a, b, idB) = try Self.pair()
            var nodeA = try Self.run(a), nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }
            for round in 1...10 {
                #expect(try Self.send(nodeA, to: idB, 100) == "\"sent \(round * 100)\"")
                switch round {
                case 3:
                    nodeB.process.signal(SIGKILL)
                    _ = nodeB.process.wait()
                case 5:
                    nodeB = try Self.run(b)
                case 7:
                    nodeA.process.signal(SIGKILL)
                    _ = nodeA.process.wait()
                    nodeA = try Self.run(a)
                default:
                    break
                }
            }
            #expect(try Self.waitForCount(nodeB, 1000) == [1000, 1000, 1, 1000, 0, 0])
            nodeA.stop()
            nodeB.stop()
            #expect(try Self.integrityCheck(a.data + "/apps/relay/app.db") == "ok")
            #expect(try Self.integrityCheck(b.data + "/apps/relay/app.db") == "ok")
        }
    }

    /// The same 1,000 messages between two nodes in network namespaces of their own, joined by a veth pair the test
    /// makes: the link is cut (the veth set down) until A notices, then healed; B is killed and restarted; A is
    /// restarted. Needs root; where CI runs as root (`SYN_REQUIRE_NETNS=1`), a missing namespace is a failure.
    @Test func aThousandMessagesSurviveACutLinkBetweenNamespaces() async throws {
        try await offThePool {
            if let why = NetworkNamespace.unavailable {
                #expect(ProcessInfo.processInfo.environment["SYN_REQUIRE_NETNS"] != "1", "SYN_REQUIRE_NETNS=1 but \(why)")
                return
            }
            let namespaces = try NetworkNamespace()
            defer { namespaces.remove() }
            let (a, b, idB) = try Self.pair(namespaces)
            let idA = String(a.invite.prefix { $0 != "@" })
            var nodeA = try Self.run(a, netns: namespaces.a), nodeB = try Self.run(b, netns: namespaces.b)
            defer { nodeA.stop(); nodeB.stop() }
            #expect(nodeA.waitFor("event=link.up peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(2000))")
            for round in 1...10 {
                #expect(try Self.send(nodeA, to: idB, 100) == "\"sent \(round * 100)\"")
                switch round {
                case 2:
                    try namespaces.link(up: false)
                case 4:
                    // A notices the cut (three missed pings), then the link heals.
                    #expect(nodeA.waitFor("event=link.down peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(2000))")
                    try namespaces.link(up: true)
                case 5:
                    nodeB.process.signal(SIGKILL)
                    _ = nodeB.process.wait()
                case 6:
                    nodeB = try Self.run(b, netns: namespaces.b)
                case 8:
                    nodeA.process.signal(SIGTERM)
                    #expect(nodeA.process.wait() == 0)
                    nodeA = try Self.run(a, netns: namespaces.a)
                default:
                    break
                }
            }
            let arrived = try Self.waitForCount(nodeB, 1000)
            #expect(arrived == [1000, 1000, 1, 1000, 0, 0], "\(arrived)\nA: \(nodeA.log.suffix(2500))\nB: \(nodeB.log.suffix(2500))")
            #expect(nodeB.log.contains("peer=\(idA)"))
            nodeA.stop()
            nodeB.stop()
            #expect(try Self.integrityCheck(a.data + "/apps/relay/app.db") == "ok")
            #expect(try Self.integrityCheck(b.data + "/apps/relay/app.db") == "ok")
        }
    }

    /// Ephemeral topics: B's relay subscribed to relay.*, so A's publications reach it live over the link (best
    /// effort: the test publishes until one arrives, bounded); nothing is stored on either node.
    @Test func publicationsReachASubscriberOnAnotherNode() async throws {
        try await offThePool {
            let (a, b, _) = try Self.pair()
            let nodeA = try Self.run(a), nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }
            var live: [Int] = [0, 0]
            // Until the link is up and B's subscription has reached A; bounded at two minutes, for a machine busy
            // with the rest of the suite (a quiet one takes under a second).
            for _ in 0..<1200 where live[0] == 0 {
                #expect(try nodeA.call("relay", "publish", #"{"count":5}"#).status == 200)
                usleep(100_000)
                let answer = try nodeB.call("relay", "live", "")
                live = answer.body.split { !$0.isNumber }.compactMap { Int($0) }
                try #require(live.count == 2, "\(answer.body)")
            }
            #expect(live[0] > 0)
            // A's own relay subscribes too: it got its publications locally.
            let own = try nodeA.call("relay", "live", "").body.split { !$0.isNumber }.compactMap { Int($0) }
            #expect(own.first ?? 0 > 0)
        }
    }

    /// An app enabled after the link came up subscribes then: the peer starts sending it the topic's publications
    /// without the link being made again.
    @Test func anAppEnabledLaterGetsPublicationsFromThen() async throws {
        try await offThePool {
            let (a, b, _) = try Self.pair()
            let toml = try String(contentsOfFile: b.data + "/node.toml", encoding: .utf8)
            try toml.replacingOccurrences(of: "[apps.relay]\nenabled = true", with: "[apps.relay]\nenabled = false")
                .write(toFile: b.data + "/node.toml", atomically: true, encoding: .utf8)
            let nodeA = try Self.run(a), nodeB = try Self.run(b, apps: ["hello"])
            defer { nodeA.stop(); nodeB.stop() }
            #expect(nodeB.waitFor("event=link.up", seconds: 60), "\(nodeB.log.suffix(2000))")
            let enabled = try CLI.syneroym(["apps", "enable", "relay", "--data", b.data], environment: FederationTests.owner)
            #expect(enabled.status == 0, "\(enabled.stdout) \(enabled.stderr)")
            var live: [Int] = [0, 0]
            // Until the link is up and B's subscription has reached A; bounded at two minutes, for a machine busy
            // with the rest of the suite (a quiet one takes under a second).
            for _ in 0..<1200 where live[0] == 0 {
                #expect(try nodeA.call("relay", "publish", #"{"count":5}"#).status == 200)
                usleep(100_000)
                live = try nodeB.call("relay", "live", "").body.split { !$0.isNumber }.compactMap { Int($0) }
                try #require(live.count == 2)
            }
            #expect(live[0] > 0)
        }
    }

    /// An app that pushes: a message over 64 KiB is refused, publishing past 500 a second is refused, and messages
    /// for a peer that is down stop at the app's outbox quota with the node.toml key that raises it.
    @Test func anAppThatPushesMeetsEveryBound() async throws {
        try await offThePool {
            let (a, _, idB) = try Self.pair()
            let toml = try String(contentsOfFile: a.data + "/node.toml", encoding: .utf8)
            try toml.replacingOccurrences(of: "[apps.relay]\n", with: "[apps.relay]\noutbox_quota_mb = 1\n")
                .write(toFile: a.data + "/node.toml", atomically: true, encoding: .utf8)
            let nodeA = try Self.run(a) // B stays down: nothing is acknowledged
            defer { nodeA.stop() }
            #expect(try nodeA.call("relay", "big", #"{"peer":"\#(idB)","count":65536}"#).body == #""sent""#)
            let big = try nodeA.call("relay", "big", #"{"peer":"\#(idB)","count":65537}"#).body
            #expect(big.hasPrefix("ERR -8") && big.contains("64 KiB"), "\(big)")
            let flood = try nodeA.call("relay", "publish", #"{"count":2000}"#).body
            #expect(flood.hasPrefix("ERR -4") && flood.contains("500 messages a second"), "\(flood)")
            var refused = ""
            for _ in 0..<40 where refused.isEmpty {
                let answer = try nodeA.call("relay", "send", #"{"peer":"\#(idB)","count":1000}"#)
                if answer.status != 200 { refused = answer.body }
            }
            #expect(refused.hasPrefix("ERR -4") && refused.contains("apps.relay.outbox_quota_mb"), "\(refused)")
        }
    }
}
