import Foundation
import SynGateway
import SynSodium
import Testing

/// An app written with SynAppKit, in a real sandboxed worker behind the real gateway.
@Suite struct SynAppKitTests {
    @Test func typedMethodsStorageIdentityEventsAndTimers() async throws {
        let node = try await LiveNode.start()
        defer { Task { await node.stop() } }
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

    @Test func badInputAndMissingCallersAreClearErrors() async throws {
        let node = try await LiveNode.start()
        defer { Task { await node.stop() } }
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
        let unknown = try await node.request("POST", "/v1/apps/kit/nope", sign: alice)
        #expect(unknown.status == 404 && unknown.text.contains("no method 'nope'"))
    }
}
