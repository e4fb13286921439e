import Foundation
import SynBroker
import SynGateway
import SynRuntime
import SynSQLite
import SynSodium
import Testing

/// An app written with SynAppKit, in a real sandboxed worker behind the real gateway.
@Suite struct SynAppKitTests {
    @Test func typedMethodsStorageIdentityEventsAndTimers() async throws {
        try await LiveNode.with { node in
            #expect(node.runtime.app("kit")?.state == "running", "\(String(describing: node.runtime.app("kit")))")
            let alice = try GatewayTests.key(node, "alice"), bob = try GatewayTests.key(node, "bob")

            // Typed input, 201 with the app's own status, SQL through migrations, rows per caller.
            let added = try await node.request("POST", "/v1/apps/kit/notes.add", body: #"{"title":"first","stars":4}"#, sign: alice)
            #expect(added.status == 201 && (added.json["id"] as? String)?.count == 32, "\(added.status) \(added.text)")
            _ = try await node.request("POST", "/v1/apps/kit/notes.add", body: #"{"title":"second","stars":5}"#, sign: alice)
            _ = try await node.request("POST", "/v1/apps/kit/notes.add", body: #"{"title":"bob's","stars":1}"#, sign: bob)
            let mine = try await node.request("POST", "/v1/apps/kit/notes.mine", sign: alice)
            #expect(mine.text == #"[{"stars":4,"title":"first"},{"stars":5,"title":"second"}]"#, "\(mine.text)")

            // KV with Codable values; a public read.
            let put = try await node.request("POST", "/v1/apps/kit/kv.put", body: #"{"title":"k1","stars":3}"#, sign: alice)
            #expect(put.status == 200, "\(put.text)")
            let got = try await node.request("POST", "/v1/apps/kit/kv.get", body: #"{"id":"k1"}"#)
            #expect(got.text == #"{"stars":3,"title":"k1"}"#, "\(got.text)")
            let missing = try await node.request("POST", "/v1/apps/kit/kv.get", body: #"{"id":"nope"}"#)
            #expect(missing.status == 404 && (missing.json["error"] as? [String: Any])?["code"] as? String == "not_found")

            // Identity: the app's signature verifies with libsodium outside the app, in the app's domain.
            let signed = try await node.request("POST", "/v1/apps/kit/sign", body: #"{"id":"receipt-1"}"#, sign: alice)
            let key = try #require(Hex.decode(signed.json["publicKey"] as? String ?? ""))
            let signature = try #require(Hex.decode(signed.json["signature"] as? String ?? ""))
            #expect(Ed25519.verify(publicKey: key, domain: .app("kit"), message: Array("receipt-1".utf8), signature: signature))

            // Timers fire into the app's timer handler.
            let later = try await node.request("POST", "/v1/apps/kit/later", body: #"{"delayMs":10,"note":"ding"}"#, sign: alice)
            #expect(later.status == 200, "\(later.text)")
            var fired = ""
            for _ in 0..<500 where !fired.contains("ding") {
                fired = try await node.request("POST", "/v1/apps/kit/fired", sign: alice).text
                if !fired.contains("ding") { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(fired == #"["ding"]"#, "\(fired)")
        }
    }

    @Test func badInputAndMissingCallersAreClearErrors() async throws {
        try await LiveNode.with { node in
            let alice = try GatewayTests.key(node, "alice")
            for (body, message) in [
                (#"{"stars":4}"#, #"field \"title\" is required"#),
                (#"{"title":"x","stars":"four"}"#, #"field \"stars\": expected a number"#),
                (#"{"title":"","stars":1}"#, "title must not be empty"),
                (#"{"title":"x","stars":9}"#, "stars must be 0 to 5"),
            ] {
                let r = try await node.request("POST", "/v1/apps/kit/notes.add", body: body, sign: alice)
                #expect(r.status == 400 && r.text.contains(message), "\(body): \(r.status) \(r.text)")
            }
            // Not public: the gateway already refuses unsigned calls; the app also refuses a missing caller itself.
            #expect(try await node.request("POST", "/v1/apps/kit/notes.add", body: #"{"title":"x","stars":1}"#).status == 401)
            // A handler that writes, emits and then throws a 4xx leaves nothing behind.
            let refused = try await node.request("POST", "/v1/apps/kit/notes.add_then_refuse", body: #"{"title":"ghost","stars":1}"#, sign: alice)
            #expect(refused.status == 409, "\(refused.text)")
            #expect(try await node.request("POST", "/v1/apps/kit/notes.mine", sign: alice).text == "[]")
            #expect(try await node.request("POST", "/v1/apps/kit/kv.get", body: #"{"id":"ghost"}"#).status == 404)
            #expect(!node.runtime.broker.events.pending(for: "observer", limit: 100).contains { $0.type == "kit.note.added" })
            let unknown = try await node.request("POST", "/v1/apps/kit/nope", sign: alice)
            #expect(unknown.status == 404 && unknown.text.contains("no method 'nope'"))
        }
    }
}

/// SynAppKit's workflow state machine through the real gateway: roles, states, history and timed transitions.
@Suite struct SynAppKitWorkflowTests {
    @Test func transitionsCheckRoleAndStateAndAreRecorded() async throws {
        try await LiveNode.with { node in
            let consumer = try GatewayTests.key(node, "consumer"), provider = try GatewayTests.key(node, "provider")
            let stranger = try GatewayTests.key(node, "stranger")
            let providerID = Base64URL.encode(provider.publicKey)
            let created = try await node.request("POST", "/v1/apps/kit/order.create", body: #"{"id":"o1","provider":"\#(providerID)"}"#,
                                                 sign: consumer)
            #expect(created.status == 201 && created.json["state"] as? String == "requested", "\(created.text)")

            func take(_ transition: String, _ key: SigningKey) async throws -> LiveNode.Reply {
                try await node.request("POST", "/v1/apps/kit/order.take", body: #"{"id":"o1","transition":"\#(transition)"}"#, sign: key)
            }
            // A consumer cannot confirm, a stranger cannot cancel, nobody but the node can expire.
            let wrongRole = try await take("confirm", consumer)
            #expect(wrongRole.status == 403 && wrongRole.text.contains("only the order's provider"), "\(wrongRole.text)")
            #expect(try await take("cancel", stranger).status == 403)
            #expect(try await take("expire", provider).status == 403)
            #expect(try await take("fly", provider).status == 400)
            #expect(try await take("confirm", provider).json["state"] as? String == "confirmed")
            // A transition from the wrong state is a conflict naming the state.
            let again = try await take("confirm", provider)
            #expect(again.status == 409 && again.text.contains("that is confirmed"), "\(again.text)")
            let done = try await take("complete", provider)
            #expect(done.json["state"] as? String == "completed")
            #expect(try await take("cancel", consumer).status == 409)

            let history = try #require(done.json["history"] as? [[String: Any]])
            #expect(history.map { $0["transition"] as? String } == ["create", "confirm", "complete"])
            #expect(history[1]["actor"] as? String == providerID && history[1]["role"] as? String == "provider")
            #expect(history.allSatisfy { ($0["atMs"] as? Int ?? 0) > 0 })
            // Every transition is an event in the node's event log.
            let types = try node.runtime.broker.events.pending(for: "observer", limit: 100).map(\.type)
            #expect(types.contains("kit.order.confirm") && types.contains("kit.order.complete"), "\(types)")
        }
    }

    @Test func anUnconfirmedOrderExpiresByItsTimer() async throws {
        try await LiveNode.with { first in
            let consumer = try GatewayTests.key(first, "consumer"), provider = try GatewayTests.key(first, "provider")
            let providerID = Base64URL.encode(provider.publicKey)
            // Both expire in an hour, "waits" a millisecond after "confirmed". Timed transitions are due work in the
            // app's own database under one node timer for the whole app; confirming "confirmed" forgot its expiry.
            // The node is stopped and both clocks, the node timer's and the due work's, moved two hours back, as if the
            // time had passed.
            _ = try await first.request("POST", "/v1/apps/kit/order.create", body: #"{"id":"confirmed","provider":"\#(providerID)","expireMs":3600000}"#, sign: consumer)
            let confirmed = try await first.request("POST", "/v1/apps/kit/order.take", body: #"{"id":"confirmed","transition":"confirm"}"#, sign: provider)
            #expect(confirmed.status == 200, "\(confirmed.text)")
            _ = try await first.request("POST", "/v1/apps/kit/order.create", body: #"{"id":"waits","provider":"\#(providerID)","expireMs":3600001}"#, sign: consumer)
            await first.stop()
            let db = try Database(path: first.data + "/node.db")
            #expect(try db.execute("UPDATE timers SET due_ns = due_ns - 7200000000000 WHERE app = 'kit'", []) == 1)
            db.close()
            let app = try Database(path: first.data + "/apps/kit/app.db")
            #expect(try app.query("SELECT key FROM syn_due") == [[.text("order/waits/expire")]])
            _ = try app.execute("UPDATE syn_due SET due_ms = due_ms - 7200000", [])
            app.close()
            try await LiveNode.reopened(first) { node in
                var state = ""
                for _ in 0..<3000 where state != "expired" {
                    state = try await node.request("POST", "/v1/apps/kit/order.get", body: #"{"id":"waits"}"#, sign: consumer).json["state"] as? String ?? ""
                    if state != "expired" { try await Task.sleep(for: .milliseconds(10)) }
                }
                #expect(state == "expired")
                let view = try await node.request("POST", "/v1/apps/kit/order.get", body: #"{"id":"waits"}"#, sign: consumer)
                let last = try #require((view.json["history"] as? [[String: Any]])?.last)
                #expect(last["transition"] as? String == "expire" && last["actor"] as? String == "node" && last["role"] as? String == "system")
                let kept = try await node.request("POST", "/v1/apps/kit/order.get", body: #"{"id":"confirmed"}"#, sign: consumer)
                #expect(kept.json["state"] as? String == "confirmed", "\(kept.text)")
            }
        }
    }

    @Test func aHandlerThatThrowsLeavesNoTimerAndNoEvent() async throws {
        try await LiveNode.with { node in
            let caller = try GatewayTests.key(node, "consumer")
            let refused = try await node.request("POST", "/v1/apps/kit/later_then_fail", body: #"{"delayMs":0,"note":"refused"}"#, sign: caller)
            #expect(refused.status == 409, "\(refused.text)")
            let kept = try await node.request("POST", "/v1/apps/kit/later", body: #"{"delayMs":1,"note":"kept"}"#, sign: caller)
            #expect(kept.status == 200, "\(kept.text)")
            // Timers fire one at a time in due order: once "kept" has fired, "refused" (due earlier) would have too.
            var fired: [String] = []
            for _ in 0..<3000 where !fired.contains("kept") {
                fired = (try await node.request("POST", "/v1/apps/kit/fired", body: "{}", sign: caller).jsonArray as? [String]) ?? []
                if !fired.contains("kept") { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(fired == ["kept"])
            let types = try node.runtime.broker.events.pending(for: "observer", limit: 100).map(\.type)
            #expect(!types.contains("kit.never"), "\(types)")
        }
    }
}
