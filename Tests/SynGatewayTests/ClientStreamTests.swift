import Foundation
import SynHTTPSig
import SynRuntime
import SynSodium
import SynTestSupport
import Synchronization
import Testing

/// Client streams (`GET /v1/apps/{app}/stream`): what an app publishes on `client.<person>` reaches that person's
/// open streams once the call commits, and no one else's; a client that stops reading is cut off without holding
/// back the others; hostile apps and clients are refused. The app is `Tests/HostileApps/notifier.c`.
@Suite struct ClientStreamTests {
    static func apps(granted: Bool = true) -> [LiveNode.ExtraApp] {
        let manifest = { (id: String, publish: String) in
            """
            [app]
            id = "\(id)"
            name = "Notifier"
            version = "1"
            abi = 1
            library = "lib\(id).so"
            [capabilities]
            messages.publish = [\(publish)]
            [methods]
            public = ["notify"]
            """
        }
        return [
            LiveNode.ExtraApp(id: "notifier", source: "Tests/HostileApps/notifier.c", defines: ["-DAPP_ID=\"notifier\""], manifest: manifest("notifier", "\"client.*\"")),
            LiveNode.ExtraApp(id: "mute", source: "Tests/HostileApps/notifier.c", defines: ["-DAPP_ID=\"mute\""], manifest: manifest("mute", "\"chat.*\"")),
        ]
    }

    static func topic(_ key: SigningKey) -> String { "client." + Hex.encode(key.publicKey) }

    /// `notify`: publishes `count` notices of about `size` bytes on `topic`; the app's answer.
    static func notify(_ node: LiveNode, _ topic: String, _ count: Int, size: Int = 40, mode: String = "", app: String = "notifier") async throws -> LiveNode.Reply {
        try await node.request("POST", "/v1/apps/\(app)/notify", body: "\"\(topic) \(count) \(size) \(mode)\"")
    }

    /// A signed stream request on a connection of its own.
    static func stream(_ node: LiveNode, _ key: SigningKey?, app: String = "notifier", receiveBuffer: Int32? = nil,
                       from source: String = "127.0.0.1") async throws -> (RawConnection, RawConnection.Response) {
        let connection = try RawConnection(port: node.port, from: source, receiveBuffer: receiveBuffer)
        let path = "/v1/apps/\(app)/stream"
        var headers: [(String, String)] = []
        if let key {
            let signed = try RequestSigner(key: key).sign(method: "GET", url: node.base + path, body: [],
                                                          created: Int64(Date().timeIntervalSince1970))
            headers = signed.fields.map { ($0.name, $0.value) }
        }
        try connection.send(RawConnection.request("GET", path, headers: headers, host: "127.0.0.1:\(node.port)"))
        return (connection, try await connection.streamHead())
    }

    @Test func aPersonGetsTheirOwnNoticesOnceTheCallCommits() async throws {
        try await LiveNode.with(extra: Self.apps()) { node in
            let ada = try GatewayTests.key(node, "ada"), bob = try GatewayTests.key(node, "bob")
            let (adaStream, adaHead) = try await Self.stream(node, ada)
            #expect(adaHead.status == 200 && adaHead.headers["content-type"]?.hasPrefix("text/event-stream") == true, "\(adaHead)")
            let (bobStream, bobHead) = try await Self.stream(node, bob)
            #expect(bobHead.status == 200)
            // Three for Ada, in order, numbered from 1.
            let sent = try await Self.notify(node, Self.topic(ada), 3)
            #expect(sent.status == 200 && sent.text.hasPrefix("3\n0\n"), "\(sent.text)")
            for i in 0..<3 {
                let event = try #require(try await adaStream.event())
                #expect(event["id"] == String(i + 1))
                #expect(event["data"]?.hasPrefix("{\"n\":\(i),") == true, "\(event)")
            }
            // A call that rolls back sends nothing: Ada's next notice is the one after it.
            let rolledBack = try await Self.notify(node, Self.topic(ada), 1, size: 64, mode: "rollback")
            #expect(rolledBack.status == 500)
            _ = try await Self.notify(node, Self.topic(ada), 1, size: 80)
            let next = try #require(try await adaStream.event())
            #expect(next["id"] == "4" && next["data"]?.count == 80, "\(next)")
            // Bob saw none of Ada's: his first notice is his own.
            _ = try await Self.notify(node, Self.topic(bob), 1, size: 50)
            let bobs = try #require(try await bobStream.event())
            #expect(bobs["id"] == "1" && bobs["data"]?.count == 50, "\(bobs)")
            // Disabling the app ends its streams with the reason.
            let owner = node.owner
            let disabled = try await node.request("POST", "/v1/admin/apps/notifier/disable", sign: owner)
            #expect(disabled.status == 200, "\(disabled.text)")
            let end = try #require(try await adaStream.event())
            #expect(end["event"] == "end" && end["data"] == #"{"reason":"app_stopped"}"#, "\(end)")
        }
    }

    @Test func streamsAreRefusedWithTheFix() async throws {
        try await LiveNode.with(gateway: "max_streams_per_person = 2", extra: Self.apps()) { node in
            let ada = try GatewayTests.key(node, "ada")
            // Unsigned: whose notices would it carry?
            let (_, unsigned) = try await Self.stream(node, nil)
            #expect(unsigned.status == 401)
            // An app whose grant does not cover client notices, and no app at all.
            let (_, mute) = try await Self.stream(node, ada, app: "mute")
            #expect(mute.status == 403)
            let (_, unknown) = try await Self.stream(node, ada, app: "nosuch")
            #expect(unknown.status == 404)
            // Two streams per person here; the third is refused, naming the key.
            let (first, a) = try await Self.stream(node, ada)
            let (second, b) = try await Self.stream(node, ada)
            #expect(a.status == 200 && b.status == 200)
            let third = try await node.request("GET", "/v1/apps/notifier/stream", sign: ada)
            #expect(third.status == 429 && third.text.contains("max_streams_per_person"), "\(third.text)")
            _ = (first, second)
        }
    }

    @Test func oneAddressCannotTakeEveryStream() async throws {
        try await LiveNode.with(gateway: "max_streams = 3\nmax_streams_per_client = 2", extra: Self.apps()) { node in
            let keys = try ["ada", "bob", "carl", "dave"].map { try GatewayTests.key(node, $0) }
            // Fresh keys cost nothing: one address holds two streams, whoever signed them.
            let (a, first) = try await Self.stream(node, keys[0])
            let (b, second) = try await Self.stream(node, keys[1])
            #expect(first.status == 200 && second.status == 200)
            let (_, third) = try await Self.stream(node, keys[2])
            #expect(third.status == 429, "\(third)")
            // Another address gets the node's last stream; past the node's limit, everyone waits.
            let (c, other) = try await Self.stream(node, keys[2], from: "127.0.0.2")
            #expect(other.status == 200)
            let (_, full) = try await Self.stream(node, keys[3], from: "127.0.0.3")
            #expect(full.status == 503, "\(full)")
            _ = (a, b, c)
        }
    }

    @Test func hostileNoticesAreRefused() async throws {
        try await LiveNode.with(extra: Self.apps()) { node in
            let ada = try GatewayTests.key(node, "ada")
            // Not granted: refused at once, naming the key that would grant it.
            let mute = try await Self.notify(node, Self.topic(ada), 1, app: "mute")
            #expect(mute.text.hasPrefix("0\n-3\n") && mute.text.contains("messages.publish"), "\(mute.text)")
            // Not a person's key, upper-case hex, too short.
            for topic in ["client.nobody", "client." + Hex.encode(ada.publicKey).uppercased(), "client.abcd"] {
                let bad = try await Self.notify(node, topic, 1)
                #expect(bad.text.hasPrefix("0\n-2\n") && bad.text.contains("64 lowercase hex"), "\(topic): \(bad.text)")
            }
            // Not UTF-8 text (to someone with a stream open: for anyone else a notice goes nowhere); larger than 64 KiB.
            let (adaStream, _) = try await Self.stream(node, ada)
            let raw = try await Self.notify(node, Self.topic(ada), 1, mode: "raw")
            #expect(raw.text.hasPrefix("0\n-2\n") && raw.text.contains("UTF-8"), "\(raw.text)")
            let big = try await Self.notify(node, Self.topic(ada), 1, size: 65_600)
            #expect(big.text.hasPrefix("0\n-8\n"), "\(big.text)")
            // At most 256 a call, for people with a stream open.
            let many = try await Self.notify(node, Self.topic(ada), 300, size: 10)
            #expect(many.text.hasPrefix("256\n-4\n") && many.text.contains("256"), "\(many.text)")
            _ = adaStream
        }
    }

    @Test func aStalledClientIsCutOffWithoutHarmingOthers() async throws {
        try await LiveNode.with(gateway: "stream_queue_kb = 64\nstream_ping_s = 3600", extra: Self.apps()) { node in
            let ada = try GatewayTests.key(node, "ada")
            // One of Ada's devices reads everything; the other never reads past the head.
            let (stalled, head) = try await Self.stream(node, ada, receiveBuffer: 4096)
            #expect(head.status == 200)
            let (healthy, _) = try await Self.stream(node, ada)
            // The healthy device reads on a thread of its own; the test waits for it after each call, so it is
            // never behind by more than one call's notices (32 KiB, half its queue).
            let received = Mutex((count: 0, last: "", closed: false))
            Thread {
                while let event = try? healthy.nextEvent() {
                    received.withLock { $0.count += 1; $0.last = event["data"] ?? "" }
                }
                received.withLock { $0.closed = true }
            }.start()
            func caughtUp(_ count: Int) async throws {
                for _ in 0..<10_000 where received.withLock({ $0.count < count && !$0.closed }) { try await Task.sleep(for: .milliseconds(1)) }
            }
            // Notices of 4 KiB, eight a call, until the node cuts the stalled stream off (bounded: 64 MiB).
            var calls = 0
            while node.runtime.streams.counts.dropped == 0 && calls < 2_000 {
                let r = try await Self.notify(node, Self.topic(ada), 8, size: 4096)
                #expect(r.status == 200)
                calls += 1
                try await caughtUp(calls * 8)
            }
            #expect(node.runtime.streams.counts.dropped == 1, "the stalled stream was never cut off")
            // Its connection is closed; the healthy stream is still open and gets everything, up to a marker.
            #expect(try await stalled.drainsToClose())
            let marker = try await Self.notify(node, Self.topic(ada), 1, size: 40, mode: "marker")
            #expect(marker.status == 200)
            try await caughtUp(calls * 8 + 1)
            let (count, last, closed) = received.withLock { $0 }
            #expect(count == calls * 8 + 1 && !closed, "the healthy stream missed notices")
            #expect(last.contains("zzzz"))
            #expect(node.runtime.streams.counts.open == 1)
        }
    }
}
