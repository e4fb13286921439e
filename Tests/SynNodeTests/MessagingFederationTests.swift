import Foundation
import SynSodium
import SynTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Messaging across two real nodes, each its own `syneroym run` with its own data directory, linked over loopback:
/// ada's home is A, bob's is B. Envelopes go from the author's home node to the other members' home nodes over
/// `net_send`, and each node verifies them again.
@Suite(.serialized) struct MessagingFederationTests {
    static let home: [String: String] = {
        let env = ["XDG_CONFIG_HOME": TestSupport.scratch + "/messaging-keys-\(UInt32.random(in: 0...UInt32.max))"]
        for name in ["default", "ada", "bob", "carl"] { _ = try? CLI.syneroym(["keys", "new", name], environment: env) }
        return env
    }()

    static func keyID(_ name: String) throws -> String {
        Base64URL.encode(try KeyFile.load(path: (home["XDG_CONFIG_HOME"] ?? "") + "/syneroym/keys/\(name).key").publicKey)
    }

    static func node(_ label: String) throws -> LinkedNode { try LinkedNode(label, app: "messaging", home: home) }

    static func run(_ node: LinkedNode) throws -> ProcessNode { try node.run() }

    /// Runs a bash script with the people's keys (`syn` is the CLI); fails the test on a non-zero exit.
    static func script(_ text: String) throws -> String {
        let r = try ProcessLauncher.run("/bin/bash", ["-c", "set -euo pipefail\nsyn() { \"\(TestSupport.products)/syneroym\" \"$@\"; }\n" + text],
                                        environment: home)
        try #require(r.status == 0, "\(r.output.suffix(2000))")
        return r.output
    }

    /// Every envelope of the conversation `as` reads on `data`, oldest first (nil while it is not there).
    static func history(_ data: String, _ conversation: String, as key: String) throws -> [[String: Any]]? {
        var all: [[String: Any]] = [], after = ""
        while true {
            let r = try CLI.syneroym(["call", "messaging", "messages.history", #"{"conversation_id":"\#(conversation)","limit":200,"after":"\#(after)"}"#,
                                      "--as", key, "--data", data], environment: home)
            guard r.status == 0, let page = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else { return nil }
            all += page["envelopes"] as? [[String: Any]] ?? []
            guard let next = page["next"] as? String else { return all }
            after = next
        }
    }

    /// Reads until `check` holds (bounded: a stuck replication fails the test instead of hanging it).
    static func poll(_ data: String, _ conversation: String, as key: String, until check: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
        var last: [[String: Any]] = []
        for _ in 0..<600 {
            if let envelopes = try history(data, conversation, as: key) {
                last = envelopes
                if check(envelopes) { return envelopes }
            }
            usleep(100_000)
        }
        return last
    }

    @Test func aHundredMessagesReachAStoppedNodeOnceEachInOrder() async throws {
        try await offThePool {
            let a = try Self.node("msg-a"), b = try Self.node("msg-b")
            let idB = String(b.invite.prefix { $0 != "@" })
            #expect(try CLI.syneroym(["peers", "add", b.invite, "--name", "b", "--data", a.data]).status == 0)
            #expect(try CLI.syneroym(["peers", "add", a.invite, "--name", "a", "--data", b.data]).status == 0)
            var nodeA = try Self.run(a), nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }
            let bob = try Self.keyID("bob"), group = "g-fed-\(UInt32.random(in: 0...UInt32.max))"

            // ada, at home on A, starts a group with bob, at home on B: B gets the create.
            _ = try Self.script("""
                syn sign envelope --as ada --conversation \(group) --seq 1 --kind create \\
                  --body '{"kind":"group","title":"Across","members":["\(bob)"],"homes":{"\(bob)":"\(idB)"}}' |
                  syn call messaging messages.post - --as ada --data \(a.data)
                """)
            let created = try Self.poll(b.data, group, as: "bob") { $0.count == 1 }
            #expect(created.first?["kind"] as? String == "create", "\(created)")

            // B stops; ada posts 100 messages on A.
            nodeB.process.signal(SIGKILL)
            _ = nodeB.process.wait()
            _ = try Self.script("""
                for i in $(seq 2 101); do
                  syn sign envelope --as ada --conversation \(group) --seq $i --kind text --body "message $i" |
                    syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                done
                """)
            // B comes back and has all of them, once each, in order.
            nodeB = try Self.run(b)
            let received = try Self.poll(b.data, group, as: "bob") { $0.count >= 101 }
            #expect(received.count == 101, "\(received.count) envelopes on B")
            #expect(received.compactMap { $0["seq"] as? Int } == Array(1...101))
            #expect(received.dropFirst().compactMap { $0["body"] as? String } == (2...101).map { "message \($0)" })
            let ords = received.compactMap { $0["ord"] as? String }
            #expect(ords == ords.sorted() && Set(ords).count == ords.count)

            // Delivered receipts come back to A: bob's home has everything up to ada's last.
            let lastOrd = received.last?["ord"] as? String ?? "?"
            var delivered = ""
            for _ in 0..<600 where delivered != lastOrd {
                let view = try CLI.syneroym(["call", "messaging", "conversations.get", #"{"conversation_id":"\#(group)"}"#, "--as", "ada", "--data", a.data],
                                            environment: Self.home)
                let json = (try? JSONSerialization.jsonObject(with: Data(view.stdout.utf8)) as? [String: Any]) ?? [:]
                delivered = (json["members"] as? [[String: Any]])?.first { $0["member"] as? String == bob }?["delivered_ord"] as? String ?? ""
                if delivered != lastOrd { usleep(100_000) }
            }
            #expect(delivered == lastOrd, "bob's delivered_ord on A is \(delivered), not \(lastOrd)")

            // bob answers on B; A has it, after ada's hundred.
            _ = try Self.script("""
                syn sign envelope --as bob --conversation \(group) --seq 1 --kind text --body 'got all 100' |
                  syn call messaging messages.post - --as bob --data \(b.data)
                """)
            let onA = try Self.poll(a.data, group, as: "ada") { $0.count >= 102 }
            #expect(onA.last?["body"] as? String == "got all 100", "\(onA.last ?? [:])")
            #expect(try Self.history(b.data, group, as: "bob")?.map { $0["ord"] as? String } == onA.map { $0["ord"] as? String },
                    "both nodes show the same envelopes in the same order")

            // ada removes bob: B learns it (bob reads nothing more there), and what ada posts next stays on A.
            _ = try Self.script("""
                syn sign envelope --as ada --conversation \(group) --seq 102 --kind member_remove --body '{"member":"\(bob)"}' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                syn sign envelope --as ada --conversation \(group) --seq 103 --kind text --body 'after bob left' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                """)
            var removed = false
            for _ in 0..<600 where !removed {
                removed = try Self.history(b.data, group, as: "bob") == nil
                if !removed { usleep(100_000) }
            }
            #expect(removed, "bob still reads the group on B")
            _ = nodeA
        }
    }

    /// bob's stream on B shows what ada posts and types on A: the text after it was replicated, the typing notice
    /// on the `messaging.typing` topic between the nodes. A file ada shares on A reaches B, checked by its content
    /// address there, and bob reads it on B.
    @Test func aStreamOnOneNodeShowsWhatIsPostedAndTypedOnAnother() async throws {
        try await offThePool {
            let a = try Self.node("live-a"), b = try Self.node("live-b")
            let idB = String(b.invite.prefix { $0 != "@" })
            #expect(try CLI.syneroym(["peers", "add", b.invite, "--name", "b", "--data", a.data]).status == 0)
            #expect(try CLI.syneroym(["peers", "add", a.invite, "--name", "a", "--data", b.data]).status == 0)
            let nodeA = try Self.run(a), nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }
            let ada = try Self.keyID("ada"), bob = try Self.keyID("bob"), group = "g-live-\(UInt32.random(in: 0...UInt32.max))"
            _ = try Self.script("""
                syn sign envelope --as ada --conversation \(group) --seq 1 --kind create \\
                  --body '{"kind":"group","title":"Live","members":["\(bob)"],"homes":{"\(bob)":"\(idB)"}}' |
                  syn call messaging messages.post - --as ada --data \(a.data)
                """)
            _ = try Self.poll(b.data, group, as: "bob") { $0.count == 1 }
            let dir = TestSupport.scratch + "/live-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // bob streams on B (two notices, then it exits); ada posts once it is open, then types once the text
            // has reached bob (a typing notice for a conversation B does not have yet would be dropped).
            let output = try Self.script("""
                timeout 60 "\(TestSupport.products)/syneroym" stream messaging --as bob --data \(b.data) --count 2 > \(dir)/out 2> \(dir)/err &
                streamer=$!
                for i in $(seq 600); do grep -q '^streaming' \(dir)/err && break; sleep 0.1; done
                syn sign envelope --as ada --conversation \(group) --seq 2 --kind text --body 'typing next' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                for i in $(seq 600); do grep -q 'typing next' \(dir)/out && break; sleep 0.1; done
                syn call messaging typing '{"conversation_id":"\(group)"}' --as ada --data \(a.data) > /dev/null
                wait $streamer
                cat \(dir)/out
                """)
            let notices = output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(notices.count == 2, "\(output)")
            let text = notices.first { $0["type"] as? String == "message" }?["envelope"] as? [String: Any]
            #expect(text?["body"] as? String == "typing next" && text?["author"] as? String == ada, "\(notices)")
            let typing = notices.first { $0["type"] as? String == "typing" }
            #expect(typing?["member"] as? String == ada && typing?["conversation_id"] as? String == group, "\(notices)")

            // ada shares a 100 KiB file on A: it follows the envelope that names it to B, and bob reads it there.
            let file = (0..<(100 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
            let sha = Hex.encode(Hash.sha256(file))
            // (On stdin: one argument holds at most 128 KiB.)
            try #"{"conversation_id":"\#(group)","sha256":"\#(sha)","size":\#(file.count),"mime":"application/pdf","offset":0,"data":"\#(Base64URL.encode(file))"}"#
                .write(toFile: dir + "/put.json", atomically: true, encoding: .utf8)
            let put = try Self.script("syn call messaging attachments.put - --as ada --data \(a.data) < \(dir)/put.json")
            #expect(put.contains(#""complete":true"#), "\(put)")
            _ = try Self.script("""
                syn sign envelope --as ada --conversation \(group) --seq 3 --kind structured \\
                  --body '{"type":"attachment","sha256":"\(sha)","size":\(file.count),"mime":"application/pdf"}' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                """)
            let shared = try Self.poll(b.data, group, as: "bob") { $0.contains { ($0["body"] as? String)?.contains(sha) == true } }
            #expect(shared.contains { ($0["body"] as? String)?.contains(sha) == true })
            var read: [UInt8] = [], offset: Int? = 0
            // B shows the file once it has all of it (bounded wait).
            for _ in 0..<600 {
                let r = try CLI.syneroym(["call", "messaging", "attachments.get", #"{"conversation_id":"\#(group)","sha256":"\#(sha)"}"#,
                                          "--as", "bob", "--data", b.data], environment: Self.home)
                if r.status == 0 { break }
                usleep(100_000)
            }
            while let at = offset, read.count <= file.count {
                let got = try CLI.syneroym(["call", "messaging", "attachments.get", #"{"conversation_id":"\#(group)","sha256":"\#(sha)","offset":\#(at)}"#,
                                            "--as", "bob", "--data", b.data], environment: Self.home)
                let piece = (try? JSONSerialization.jsonObject(with: Data(got.stdout.utf8)) as? [String: Any]) ?? [:]
                guard got.status == 0, let data = Base64URL.decode(piece["data"] as? String ?? "") else {
                    Issue.record("attachments.get on B: \(got.stdout) \(got.stderr)")
                    break
                }
                read += data
                offset = piece["next"] as? Int
            }
            let same = read == file
            #expect(same, "bob read \(read.count) bytes on B")
        }
    }

    /// carl, at home on C, joins a group of ada (A) and bob (B) long after it began: C is handed its membership,
    /// and from then on everyone's envelopes reach everyone's node (what was said before stays where it was).
    @Test func aMemberOnANewNodeJoinsLater() async throws {
        try await offThePool {
            let a = try Self.node("msg-late-a"), b = try Self.node("msg-late-b"), c = try Self.node("msg-late-c")
            let nodes = [a, b, c]
            for x in nodes { for y in nodes where y.data != x.data {
                #expect(try CLI.syneroym(["peers", "add", y.invite, "--data", x.data]).status == 0)
            } }
            let nodeA = try Self.run(a), nodeB = try Self.run(b), nodeC = try Self.run(c)
            defer { nodeA.stop(); nodeB.stop(); nodeC.stop() }
            let bob = try Self.keyID("bob"), carl = try Self.keyID("carl"), group = "g-late-\(UInt32.random(in: 0...UInt32.max))"
            _ = try Self.script("""
                syn sign envelope --as ada --conversation \(group) --seq 1 --kind create \\
                  --body '{"kind":"group","title":"Late","members":["\(bob)"],"homes":{"\(bob)":"\(b.id)"}}' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                syn sign envelope --as ada --conversation \(group) --seq 2 --kind text --body 'before carl' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                """)
            _ = try Self.poll(b.data, group, as: "bob") { $0.count == 2 }
            _ = try Self.script("""
                syn sign envelope --as bob --conversation \(group) --seq 1 --kind text --body 'bob before carl' |
                  syn call messaging messages.post - --as bob --data \(b.data) > /dev/null
                syn sign envelope --as ada --conversation \(group) --seq 3 --kind member_add --body '{"member":"\(carl)","home":"\(c.id)"}' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                """)
            // C has the group now: its create and carl's joining.
            let joined = try Self.poll(c.data, group, as: "carl") { envelopes in envelopes.contains { $0["kind"] as? String == "member_add" } }
            #expect(joined.first?["kind"] as? String == "create", "\(joined)")
            // Everyone's next envelopes reach every node, bob's too (C never had his earlier ones).
            _ = try Self.script("""
                syn sign envelope --as carl --conversation \(group) --seq 1 --kind text --body 'carl here' |
                  syn call messaging messages.post - --as carl --data \(c.data) > /dev/null
                syn sign envelope --as bob --conversation \(group) --seq 2 --kind text --body 'welcome carl' |
                  syn call messaging messages.post - --as bob --data \(b.data) > /dev/null
                syn sign envelope --as ada --conversation \(group) --seq 4 --kind text --body 'hello carl' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                """)
            let bodies = ["carl here", "welcome carl", "hello carl"]
            for (data, key) in [(a.data, "ada"), (b.data, "bob"), (c.data, "carl")] {
                let seen = try Self.poll(data, group, as: key) { e in bodies.allSatisfy { body in e.contains { $0["body"] as? String == body } } }
                #expect(bodies.allSatisfy { body in seen.contains { $0["body"] as? String == body } }, "\(key)'s node misses some: \(seen.map { $0["body"] ?? "" })")
            }
            // What was said before carl joined stayed on A and B.
            let onC = try Self.history(c.data, group, as: "carl") ?? []
            #expect(!onC.contains { $0["body"] as? String == "before carl" })
        }
    }

    /// Three nodes; C is down from before the group exists while ada (A) and bob (B) post in turn. When C comes
    /// back, A's and B's envelopes reach it in whatever order their links deliver them (bob's may come before the
    /// create that makes the group: C holds them until it has it), and all three show the same sequence.
    @Test func threeNodesAgreeAfterOneWasAway() async throws {
        try await offThePool {
            let a = try Self.node("msg3-a"), b = try Self.node("msg3-b"), c = try Self.node("msg3-c")
            let nodes = [a, b, c]
            for x in nodes { for y in nodes where y.data != x.data {
                #expect(try CLI.syneroym(["peers", "add", y.invite, "--data", x.data]).status == 0)
            } }
            let idB = String(b.invite.prefix { $0 != "@" }), idC = String(c.invite.prefix { $0 != "@" })
            let nodeA = try Self.run(a), nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }
            let bob = try Self.keyID("bob"), carl = try Self.keyID("carl"), group = "g-three-\(UInt32.random(in: 0...UInt32.max))"
            _ = try Self.script("""
                syn sign envelope --as ada --conversation \(group) --seq 1 --kind create \\
                  --body '{"kind":"group","title":"Three","members":["\(bob)","\(carl)"],"homes":{"\(bob)":"\(idB)","\(carl)":"\(idC)"}}' |
                  syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                """)
            _ = try Self.poll(b.data, group, as: "bob") { $0.count == 1 }
            _ = try Self.script("""
                for i in $(seq 1 10); do
                  syn sign envelope --as ada --conversation \(group) --seq $((i + 1)) --kind text --body "ada $i" |
                    syn call messaging messages.post - --as ada --data \(a.data) > /dev/null
                  syn sign envelope --as bob --conversation \(group) --seq $i --kind text --body "bob $i" |
                    syn call messaging messages.post - --as bob --data \(b.data) > /dev/null
                done
                """)
            let nodeC = try Self.run(c)
            defer { nodeC.stop() }
            let onC = try Self.poll(c.data, group, as: "carl") { $0.count >= 21 }
            let onA = try Self.poll(a.data, group, as: "ada") { $0.count >= 21 }
            let onB = try Self.poll(b.data, group, as: "bob") { $0.count >= 21 }
            let order = { (envelopes: [[String: Any]]) in envelopes.map { ($0["ord"] as? String ?? "") } }
            #expect(onC.count == 21, "\(onC.count) on C")
            #expect(order(onA) == order(onB) && order(onB) == order(onC), "the three nodes disagree")
            #expect(Set(onC.compactMap { $0["body"] as? String }).isSuperset(of: (1...10).flatMap { ["ada \($0)", "bob \($0)"] }))
        }
    }
}
