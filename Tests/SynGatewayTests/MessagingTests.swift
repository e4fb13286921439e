import Foundation
import SynBroker
import SynRuntime
import SynSodium
import SynTestSupport
import Testing

/// Messaging through the real gateway: every envelope signed by its author's key, checked by the app (id_verify in
/// Messaging's domain); membership as signed envelopes by admins; forgeries, tampering, replays, outsiders and
/// removed members refused.
@Suite struct MessagingTests {
    /// A person's device: their key, and the sequence number and clock of their next envelope per conversation.
    final class Device: @unchecked Sendable {
        let key: SigningKey
        var seqs: [String: Int64] = [:]
        var hlc: Int64 = 0
        init(_ key: SigningKey) { self.key = key }
        var id: String { Base64URL.encode(key.publicKey) }

        /// The next envelope of `kind` in `conversation`, signed as docs/messaging.md says (`signer` forges it).
        func envelope(_ conversation: String, _ kind: String, _ body: String, signer: SigningKey? = nil, seq: Int64? = nil) -> [String: Any] {
            let next = seq ?? (seqs[conversation] ?? 0) + 1
            if seq == nil { seqs[conversation] = next }
            hlc = max(hlc + 1, Int64(Date().timeIntervalSince1970 * 1000) * 1000)
            let signed = Array("syneroym-message-v1\n\(conversation)\n\(id)\n\(next)\n\(hlc)\n\(kind)\n".utf8) + Array(body.utf8)
            let signature = (signer ?? key).sign(domain: .app("messaging"), signed)
            return ["conversation_id": conversation, "author": id, "seq": next, "hlc": hlc, "kind": kind, "body": body,
                    "signature": Base64URL.encode(signature)]
        }
    }

    static func json(_ object: Any) throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) }

    static func call(_ node: LiveNode, _ method: String, _ body: Any, as key: SigningKey?) async throws -> LiveNode.Reply {
        try await node.request("POST", "/v1/apps/messaging/\(method)", body: try json(body), sign: key)
    }

    static func post(_ node: LiveNode, _ envelope: [String: Any], as key: SigningKey) async throws -> LiveNode.Reply {
        try await call(node, "messages.post", ["envelope": envelope], as: key)
    }

    static func history(_ node: LiveNode, _ conversation: String, as key: SigningKey, after: String? = nil, limit: Int = 50) async throws -> LiveNode.Reply {
        var query: [String: Any] = ["conversation_id": conversation, "limit": limit]
        if let after { query["after"] = after }
        return try await call(node, "messages.history", query, as: key)
    }

    @Test func aGroupConversationFromCreationToSearch() async throws {
        try await LiveNode.with(messaging: true) { node in
            let ada = Device(try GatewayTests.key(node, "ada")), bob = Device(try GatewayTests.key(node, "bob"))
            let carl = Device(try GatewayTests.key(node, "carl")), dave = Device(try GatewayTests.key(node, "dave"))
            let group = "g-bakery-regulars"
            let created = try await Self.post(node, ada.envelope(group, "create", try Self.json(["kind": "group", "title": "Regulars", "members": [bob.id, carl.id]])), as: ada.key)
            #expect(created.status == 201, "\(created.text)")
            #expect(try await Self.post(node, ada.envelope(group, "text", "Is there rye today?"), as: ada.key).status == 201)
            #expect(try await Self.post(node, bob.envelope(group, "text", "Two rye loaves left at noon"), as: bob.key).status == 201)
            let quote = try Self.json(["type": "quote", "amount": 550, "currency": "EUR"])
            #expect(try await Self.post(node, carl.envelope(group, "structured", quote), as: carl.key).status == 201)
            // History in order, paged by cursor; every envelope comes back exactly as signed.
            let first = try await Self.history(node, group, as: bob.key, limit: 2)
            let page1 = try #require(first.json["envelopes"] as? [[String: Any]])
            #expect(page1.map { $0["kind"] as? String } == ["create", "text"])
            let next = try #require(first.json["next"] as? String)
            let second = try await Self.history(node, group, as: bob.key, after: next, limit: 2)
            let page2 = try #require(second.json["envelopes"] as? [[String: Any]])
            #expect(page2.map { $0["author"] as? String } == [bob.id, carl.id])
            #expect(second.json["next"] == nil || second.json["next"] is NSNull)
            for e in page1 + page2 {
                let signed = Array("syneroym-message-v1\n\(e["conversation_id"] as? String ?? "")\n\(e["author"] as? String ?? "")\n\(e["seq"] as? Int ?? 0)\n\(e["hlc"] as? Int ?? 0)\n\(e["kind"] as? String ?? "")\n".utf8)
                    + Array((e["body"] as? String ?? "").utf8)
                let key = try #require(Base64URL.decode(e["author"] as? String ?? ""))
                #expect(Ed25519.verify(publicKey: key, domain: .app("messaging"), message: signed,
                                       signature: Base64URL.decode(e["signature"] as? String ?? "") ?? []), "an envelope no longer verifies offline")
            }
            // Unread counts and read positions.
            let bobs = try await Self.call(node, "conversations.get", ["conversation_id": group], as: bob.key)
            #expect(bobs.json["unread"] as? Int == 3, "\(bobs.text)")
            let all = try await Self.history(node, group, as: bob.key).json["envelopes"] as? [[String: Any]]
            let last = try #require(all?.last?["ord"] as? String)
            let read = try await Self.call(node, "receipts.read", ["conversation_id": group, "up_to": last], as: bob.key)
            #expect(read.json["unread"] as? Int == 0, "\(read.text)")
            let list = try await Self.call(node, "conversations.list", [String: Any](), as: ada.key)
            #expect((list.json["conversations"] as? [[String: Any]])?.first?["title"] as? String == "Regulars")
            // Search covers the caller's own conversations only.
            let found = try await Self.call(node, "messages.search", ["q": "rye"], as: carl.key)
            #expect((found.json["hits"] as? [[String: Any]])?.count == 2, "\(found.text)")
            let outsider = try await Self.call(node, "messages.search", ["q": "rye"], as: dave.key)
            #expect((outsider.json["hits"] as? [[String: Any]])?.isEmpty == true, "\(outsider.text)")
        }
    }

    @Test func forgedTamperedAndReplayedEnvelopesAreRefused() async throws {
        try await LiveNode.with(messaging: true) { node in
            let ada = Device(try GatewayTests.key(node, "ada")), bob = Device(try GatewayTests.key(node, "bob"))
            let carl = Device(try GatewayTests.key(node, "carl"))
            let group = "g-forgery"
            #expect(try await Self.post(node, ada.envelope(group, "create", try Self.json(["kind": "group", "title": "T", "members": [bob.id]])), as: ada.key).status == 201)
            // Carl signs an envelope that names Ada as its author: the signature is not Ada's.
            let forged = ada.envelope(group, "text", "I owe Carl 100 EUR", signer: carl.key)
            let byAda = try await Self.post(node, forged, as: ada.key)
            #expect(byAda.status == 403 && byAda.text.contains("signature"), "\(byAda.text)")
            // A good envelope posted by someone else than its author.
            let honest = bob.envelope(group, "text", "hello")
            let relayed = try await Self.post(node, honest, as: carl.key)
            #expect(relayed.status == 403 && relayed.text.contains("author"), "\(relayed.text)")
            // Tampered: the body changed after signing.
            var tampered = bob.envelope(group, "text", "pay 5")
            tampered["body"] = "pay 500"
            let changed = try await Self.post(node, tampered, as: bob.key)
            #expect(changed.status == 403, "\(changed.text)")
            // Replayed: the same envelope twice.
            let once = bob.envelope(group, "text", "once", seq: 1)
            #expect(try await Self.post(node, once, as: bob.key).status == 201)
            let again = try await Self.post(node, once, as: bob.key)
            #expect(again.status == 409 && again.errorCode == "seq_taken", "\(again.text)")
            // A sequence number that skips ahead.
            let skip = try await Self.post(node, bob.envelope(group, "text", "skip", seq: 5), as: bob.key)
            #expect(skip.status == 409 && skip.errorCode == "seq_gap", "\(skip.text)")
            // Bad shapes: 400 naming the field.
            var noSig = bob.envelope(group, "text", "x", seq: 2)
            noSig["signature"] = "AAAA"
            #expect(try await Self.post(node, noSig, as: bob.key).errorCode == "invalid_field")
            let badKind = try await Self.post(node, bob.envelope(group, "shout", "x", seq: 2), as: bob.key)
            #expect(badKind.status == 400 && badKind.text.contains("kind"), "\(badKind.text)")
            let badStructured = try await Self.post(node, bob.envelope(group, "structured", #"{"type":"lottery"}"#, seq: 2), as: bob.key)
            #expect(badStructured.status == 400 && badStructured.text.contains("type"), "\(badStructured.text)")
            let big = try await Self.post(node, bob.envelope(group, "text", String(repeating: "x", count: 17 * 1024), seq: 2), as: bob.key)
            #expect(big.status == 400, "\(big.text)")
            // Thread ids are Messaging's: nobody takes one before it opens it.
            let squat = try await Self.post(node, carl.envelope("t.homeservices.job.x", "create", try Self.json(["kind": "group", "title": "Mine", "members": [bob.id]])), as: carl.key)
            #expect(squat.status == 400 && squat.text.contains("t."), "\(squat.text)")
            // Unsigned requests get nothing.
            #expect(try await Self.call(node, "messages.history", ["conversation_id": group], as: nil).status == 401)
        }
    }

    @Test func onlyMembersPostAndReadAndOnlyAdminsChangeMembership() async throws {
        try await LiveNode.with(messaging: true) { node in
            let ada = Device(try GatewayTests.key(node, "ada")), bob = Device(try GatewayTests.key(node, "bob"))
            let carl = Device(try GatewayTests.key(node, "carl")), dave = Device(try GatewayTests.key(node, "dave"))
            let group = "g-members"
            #expect(try await Self.post(node, ada.envelope(group, "create", try Self.json(["kind": "group", "title": "Co-op", "members": [bob.id, carl.id]])), as: ada.key).status == 201)
            // An outsider can neither post nor read.
            #expect(try await Self.post(node, dave.envelope(group, "text", "let me in"), as: dave.key).status == 403)
            #expect(try await Self.history(node, group, as: dave.key).status == 404)
            // A member who is not an admin cannot add or remove anyone.
            let notAdmin = try await Self.post(node, bob.envelope(group, "member_add", try Self.json(["member": dave.id])), as: bob.key)
            #expect(notAdmin.status == 403, "\(notAdmin.text)")
            // The admin removes Carl: from then on Carl neither posts nor reads; Bob still does.
            #expect(try await Self.post(node, ada.envelope(group, "member_remove", try Self.json(["member": carl.id])), as: ada.key).status == 201)
            #expect(try await Self.post(node, carl.envelope(group, "text", "still here?"), as: carl.key).status == 403)
            #expect(try await Self.history(node, group, as: carl.key).status == 404)
            #expect(try await Self.history(node, group, as: bob.key).status == 200)
            // Rename, promote, and the last admin leaving hands the role on.
            #expect(try await Self.post(node, ada.envelope(group, "rename", try Self.json(["title": "Co-op members"])), as: ada.key).status == 201)
            #expect(try await Self.post(node, ada.envelope(group, "member_add", try Self.json(["member": dave.id])), as: ada.key).status == 201)
            #expect(try await Self.post(node, ada.envelope(group, "leave", ""), as: ada.key).status == 201)
            let view = try await Self.call(node, "conversations.get", ["conversation_id": group], as: bob.key)
            let members = try #require(view.json["members"] as? [[String: Any]])
            #expect(view.json["title"] as? String == "Co-op members")
            #expect(Set(members.compactMap { $0["member"] as? String }) == [bob.id, dave.id])
            #expect(members.first { $0["member"] as? String == bob.id }?["role"] as? String == "admin", "\(view.text)")
        }
    }

    /// docs/messaging.md's Python client, as printed there, makes envelopes the app accepts (PyNaCl; skipped
    /// without it unless SYN_REQUIRE_INTEROP=1).
    @Test func thePythonClientInTheDocSignsEnvelopesTheAppAccepts() async throws {
        let doc = try String(contentsOfFile: Paths.root + "/docs/messaging.md", encoding: .utf8)
        let start = try #require(doc.range(of: "```python\n")).upperBound
        let end = try #require(doc.range(of: "```", range: start..<doc.endIndex)).lowerBound
        let client = String(doc[start..<end])
        guard (try? ProcessLauncher.run("/usr/bin/env", ["python3", "-c", "import nacl.signing"]))?.status == 0 else {
            #expect(ProcessInfo.processInfo.environment["SYN_REQUIRE_INTEROP"] != "1", "python3 with PyNaCl is not installed (pip install pynacl)")
            return
        }
        try await LiveNode.with(messaging: true) { node in
            let ada = try GatewayTests.key(node, "ada"), bob = Device(try GatewayTests.key(node, "bob"))
            let script = client + """
                k = "\(node.root)/keys/ada.key"
                print(json.dumps(envelope(k, "g-python", 1, "create", json.dumps({"kind": "group", "title": "Py", "members": ["\(bob.id)"]}))))
                print(json.dumps(envelope(k, "g-python", 2, "text", "Rye from Python")))
                """
            let run = try ProcessLauncher.run("/usr/bin/env", ["python3", "-c", script])
            try #require(run.status == 0, "\(run.output)")
            let lines = run.output.split(separator: "\n").map(String.init)
            try #require(lines.count == 2, "\(run.output)")
            for line in lines {
                let envelope = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let posted = try await Self.post(node, envelope, as: ada)
                #expect(posted.status == 201, "\(posted.text)")
            }
            let page = try await Self.history(node, "g-python", as: bob.key)
            #expect((page.json["envelopes"] as? [[String: Any]])?.last?["body"] as? String == "Rye from Python", "\(page.text)")
        }
    }

    /// An author edits and deletes their own texts with signed envelopes; the words of a deleted text go.
    @Test func editsAndDeletionsAreTheAuthorsOwn() async throws {
        try await LiveNode.with(messaging: true) { node in
            let ada = Device(try GatewayTests.key(node, "ada")), bob = Device(try GatewayTests.key(node, "bob"))
            let group = "g-edits"
            #expect(try await Self.post(node, ada.envelope(group, "create", try Self.json(["kind": "group", "title": "E", "members": [bob.id]])), as: ada.key).status == 201)
            #expect(try await Self.post(node, ada.envelope(group, "text", "rye at noon"), as: ada.key).status == 201)
            #expect(try await Self.post(node, ada.envelope(group, "edit", try Self.json(["seq": 2, "text": "rye at one"])), as: ada.key).status == 201)
            let edited = try #require((try await Self.history(node, group, as: bob.key).json["envelopes"] as? [[String: Any]])?.first { $0["seq"] as? Int == 2 && $0["author"] as? String == ada.id })
            #expect(edited["edited_text"] as? String == "rye at one" && edited["body"] as? String == "rye at noon", "\(edited)")
            #expect((try await Self.call(node, "messages.search", ["q": "one"], as: bob.key).json["hits"] as? [[String: Any]])?.count == 1)
            // Only the author changes their texts, and only texts.
            let notMine = try await Self.post(node, bob.envelope(group, "edit", try Self.json(["seq": 2, "text": "mine now"])), as: bob.key)
            #expect(notMine.status == 400, "\(notMine.text)")
            let notText = try await Self.post(node, ada.envelope(group, "delete", try Self.json(["seq": 1])), as: ada.key)
            #expect(notText.status == 400, "\(notText.text)")
            ada.seqs[group] = 3
            #expect(try await Self.post(node, ada.envelope(group, "delete", try Self.json(["seq": 2])), as: ada.key).status == 201)
            let page = try #require(try await Self.history(node, group, as: bob.key).json["envelopes"] as? [[String: Any]])
            let gone = try #require(page.first { $0["seq"] as? Int == 2 && $0["author"] as? String == ada.id })
            #expect(gone["deleted"] as? Bool == true && gone["body"] as? String == "" && gone["edited_text"] == nil, "\(gone)")
            // The edit's envelope carried the words too: they go with it.
            let editEnvelope = try #require(page.first { $0["seq"] as? Int == 3 && $0["author"] as? String == ada.id })
            #expect(editEnvelope["body"] as? String == "", "\(editEnvelope)")
            #expect((try await Self.call(node, "messages.search", ["q": "rye"], as: bob.key).json["hits"] as? [[String: Any]])?.isEmpty == true)
        }
    }

    /// A HomeServices quote shows in its job's thread, opened by Messaging with the job's two parties; the customer's
    /// signed order_action accepts it through `app_call`, on the customer's behalf, and the thread shows the result.
    /// An action nobody signed accepts nothing.
    @Test func aQuoteInItsThreadIsAcceptedFromTheChat() async throws {
        try await LiveNode.with(messaging: true) { node in
            typealias H = HomeServicesTests
            let adaKey = try GatewayTests.key(node, "ada"), carl = Device(try GatewayTests.key(node, "carl"))
            let (space, _) = try await HomeServicesBookingTests.setUp(node, adaKey)
            let item = #"{"space_id":"\#(space)","id":"refit","title":"Refit","description":"","kind":"job","duration_minutes":480,"price":{"model":"quote","currency":"EUR"}}"#
            #expect(try await H.call(node, "catalog.upsert", item, as: adaKey).status == 200)
            let now = Int(Date().timeIntervalSince1970 * 1000), week = 7 * 86_400_000
            let job = try #require(try await H.call(node, "jobs.request", #"{"space_id":"\#(space)","item_id":"refit","description":"Tiles","window":{"from_ms":\#(now + week),"to_ms":\#(now + 2 * week)}}"#, as: carl.key).json["id"] as? String)
            let quote = try #require(try await H.call(node, "quotes.create", #"{"job_id":"\#(job)","amount":42000,"currency":"EUR","note":"Two days","valid_for_hours":48}"#, as: adaKey).json["id"] as? String)
            // The thread appears (events reach Messaging after the call), with the quote in it.
            let thread = "t.homeservices.job.\(job)"
            var page: [[String: Any]] = []
            for _ in 0..<600 where !page.contains(where: { ($0["body"] as? String)?.contains(quote) == true }) {
                page = try await Self.history(node, thread, as: carl.key).json["envelopes"] as? [[String: Any]] ?? []
                if !page.contains(where: { ($0["body"] as? String)?.contains(quote) == true }) { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(page.contains { ($0["body"] as? String)?.contains(#""type":"quote""#) == true && ($0["body"] as? String)?.contains(quote) == true }, "\(page)")
            let members = try await Self.call(node, "conversations.get", ["conversation_id": thread], as: adaKey)
            #expect(members.status == 200, "ada, who quoted, is in the thread: \(members.text)")
            // A second manager of the Space quotes the same job: they join the thread, and their quote shows there.
            let dave = try GatewayTests.key(node, "dave")
            #expect(try await H.call(node, "spaces.managers.add", #"{"space_id":"\#(space)","manager":"\#(Base64URL.encode(dave.publicKey))"}"#, as: adaKey).status == 200)
            let second = try #require(try await H.call(node, "quotes.create", #"{"job_id":"\#(job)","amount":39000,"currency":"EUR","note":"Faster","valid_for_hours":48}"#, as: dave).json["id"] as? String)
            var daveSees: [[String: Any]] = []
            for _ in 0..<600 where !daveSees.contains(where: { ($0["body"] as? String)?.contains(second) == true }) {
                daveSees = try await Self.history(node, thread, as: dave).json["envelopes"] as? [[String: Any]] ?? []
                if !daveSees.contains(where: { ($0["body"] as? String)?.contains(second) == true }) { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(daveSees.contains { ($0["body"] as? String)?.contains(second) == true }, "\(daveSees)")
            carl.seqs[thread] = 0
            // An action signed by nobody (a signature over another body) accepts nothing.
            let nodeID = Base64URL.encode(node.runtime.broker.nodePublicKey)
            func signedCall(_ body: String, nonce: String) -> [String: Any] {
                let created = Int64(Date().timeIntervalSince1970)
                let message = Array("\(nodeID)\nmessaging\nhomeservices\nquotes.accept\n\(Hex.encode(Hash.sha256(Array(body.utf8))))\n\(created)\n\(nonce)".utf8)
                return ["key": carl.id, "created": created, "nonce": nonce, "signature": Base64URL.encode(carl.key.sign(domain: .appCall, message))]
            }
            let accept = #"{"quote_id":"\#(quote)"}"#
            let forged: [String: Any] = ["type": "order_action", "app": "homeservices", "method": "quotes.accept", "body": accept,
                                         "on_behalf": signedCall(#"{"quote_id":"other"}"#, nonce: "n-forged-0001")]
            #expect(try await Self.post(node, carl.envelope(thread, "structured", try Self.json(forged)), as: carl.key).status == 201)
            let stillOpen = try await H.call(node, "jobs.get", #"{"job_id":"\#(job)"}"#, as: carl.key)
            #expect(stillOpen.json["state"] as? String == "open", "\(stillOpen.text)")
            // carl's signed action: the quote is accepted in HomeServices, for carl, and the thread says so.
            // (as the array `syneroym sign call` prints)
            let signed = signedCall(accept, nonce: "n-accept-0001")
            let action: [String: Any] = ["type": "order_action", "app": "homeservices", "method": "quotes.accept", "body": accept,
                                         "on_behalf": [signed["key"] ?? "", signed["created"] ?? 0, signed["nonce"] ?? "", signed["signature"] ?? ""]]
            #expect(try await Self.post(node, carl.envelope(thread, "structured", try Self.json(action)), as: carl.key).status == 201)
            let accepted = try await H.call(node, "jobs.get", #"{"job_id":"\#(job)"}"#, as: carl.key)
            #expect(accepted.json["state"] as? String == "accepted", "\(accepted.text)")
            let after = try await Self.history(node, thread, as: carl.key).json["envelopes"] as? [[String: Any]] ?? []
            let updates = after.compactMap { $0["body"] as? String }.filter { $0.contains(#""type":"order_update""#) }
            #expect(updates.count == 2 && updates[0].contains(#""ok":false"#) && updates[1].contains(#""ok":true"#), "\(updates)")
            // The booking the quote became has its own thread, with its parties, where each step shows.
            let orderID = try #require((accepted.json["quotes"] as? [[String: Any]])?.compactMap { $0["order_id"] as? String }.first, "\(accepted.text)")
            var orderThread: [String] = []
            for _ in 0..<600 where orderThread.isEmpty {
                orderThread = (try await Self.history(node, "t.homeservices.order.\(orderID)", as: carl.key).json["envelopes"] as? [[String: Any]] ?? [])
                    .compactMap { $0["body"] as? String }.filter { $0.contains(#""type":"order_update""#) }
                if orderThread.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(orderThread.first?.contains(#""app":"homeservices""#) == true && orderThread.first?.contains(#""amount":42000"#) == true, "\(orderThread)")
        }
    }

    @Test func aFoodMeshOrderHasAThreadWhereItsPartiesMoveItOn() async throws {
        try await LiveNode.with(foodmesh: true, messaging: true) { node in
            typealias F = FoodMeshTests
            let ada = Device(try GatewayTests.key(node, "ada")), carl = Device(try GatewayTests.key(node, "carl"))
            let eve = try GatewayTests.key(node, "eve")
            let (store, _) = try await F.setUp(node, manager: ada.key, stock: 10)
            let quote = try #require(try await F.quote(node, store, 2, as: carl.key).json["id"] as? String)
            let placed = try await F.call(node, "orders.place", #"{"quote_id":"\#(quote)","payment_method":"cash_on_pickup"}"#, as: carl.key)
            let order = try #require(placed.json["id"] as? String, "\(placed.text)")
            // The order's thread appears with its customer and the store's manager, and the order placed in it.
            let thread = "t.foodmesh.order.\(order)"
            func updates(as key: SigningKey, until count: Int) async throws -> [String] {
                var found: [String] = []
                for _ in 0..<600 {
                    let page = try await Self.history(node, thread, as: key).json["envelopes"] as? [[String: Any]] ?? []
                    found = page.compactMap { $0["body"] as? String }.filter { $0.contains(#""type":"order_update""#) }
                    if found.count >= count { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return found
            }
            let first = try await updates(as: carl.key, until: 1)
            #expect(first.first?.contains(#""event":"create""#) == true && first.first?.contains(#""state":"placed""#) == true, "\(first)")
            #expect(first.first?.contains(#""amount":1100"#) == true, "\(first)")
            #expect(try await Self.call(node, "conversations.get", ["conversation_id": thread], as: ada.key).status == 200)
            #expect(try await Self.call(node, "conversations.get", ["conversation_id": thread], as: eve).status == 404)
            // The customer cannot accept for the store: FoodMesh refuses, and the thread says so.
            let nodeID = Base64URL.encode(node.runtime.broker.nodePublicKey)
            func action(_ by: Device, _ transition: String, nonce: String) -> [String: Any] {
                let body = #"{"order_id":"\#(order)","transition":"\#(transition)"}"#
                let created = Int64(Date().timeIntervalSince1970)
                let message = Array("\(nodeID)\nmessaging\nfoodmesh\norders.transition\n\(Hex.encode(Hash.sha256(Array(body.utf8))))\n\(created)\n\(nonce)".utf8)
                return ["type": "order_action", "app": "foodmesh", "method": "orders.transition", "body": body,
                        "on_behalf": ["key": by.id, "created": created, "nonce": nonce,
                                      "signature": Base64URL.encode(by.key.sign(domain: .appCall, message))]]
            }
            #expect(try await Self.post(node, carl.envelope(thread, "structured", try Self.json(action(carl, "accept", nonce: "n-fm-0001"))), as: carl.key).status == 201)
            // The store's manager accepts in the chat: the order is accepted in FoodMesh, and the thread shows both.
            #expect(try await Self.post(node, ada.envelope(thread, "structured", try Self.json(action(ada, "accept", nonce: "n-fm-0002"))), as: ada.key).status == 201)
            let state = try await F.call(node, "orders.get", #"{"order_id":"\#(order)"}"#, as: carl.key)
            #expect(state.json["state"] as? String == "accepted", "\(state.text)")
            let all = try await updates(as: carl.key, until: 4)
            let results = all.filter { $0.contains(#""action":"orders.transition""#) }
            #expect(results.count == 2 && results[0].contains(#""ok":false"#) && results[1].contains(#""ok":true"#), "\(all)")
            #expect(all.contains { $0.contains(#""event":"accept""#) && $0.contains(#""state":"accepted""#) }, "\(all)")
            // The customer cancels from the chat.
            #expect(try await Self.post(node, carl.envelope(thread, "structured", try Self.json(action(carl, "cancel", nonce: "n-fm-0003"))), as: carl.key).status == 201)
            let cancelled = try await F.call(node, "orders.get", #"{"order_id":"\#(order)"}"#, as: carl.key)
            #expect(cancelled.json["state"] as? String == "cancelled", "\(cancelled.text)")
            // orders.parties is for apps: a client asking gets nothing.
            #expect(try await F.call(node, "orders.parties", #"{"order_id":"\#(order)"}"#, as: carl.key).status == 404)
        }
    }

    @Test func attachmentsAreStoredByContentAndReadByMembersOnly() async throws {
        try await LiveNode.with(gateway: "max_body_kb = 1024", messaging: true) { node in
            let ada = Device(try GatewayTests.key(node, "ada")), bob = Device(try GatewayTests.key(node, "bob"))
            let eve = try GatewayTests.key(node, "eve")
            let group = "g-files"
            #expect(try await Self.post(node, ada.envelope(group, "create", try Self.json(["kind": "group", "title": "Files", "members": [bob.id]])), as: ada.key).status == 201)
            // A file of exactly 1 MiB, in two pieces of 512 KiB.
            let file = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
            let sha = Hex.encode(Hash.sha256(file))
            func put(_ piece: ArraySlice<UInt8>, at offset: Int, sha256: String = sha, size: Int = 1 << 20, as key: SigningKey) async throws -> LiveNode.Reply {
                try await Self.call(node, "attachments.put", ["conversation_id": group, "sha256": sha256, "size": size, "mime": "image/png",
                                                              "offset": offset, "data": Base64URL.encode(Array(piece))], as: key)
            }
            let first = try await put(file[0..<(512 * 1024)], at: 0, as: ada.key)
            #expect(first.status == 200 && first.json["complete"] as? Bool == false && first.json["received"] as? Int == 512 * 1024, "\(first.text)")
            let second = try await put(file[(512 * 1024)...], at: 512 * 1024, as: ada.key)
            #expect(second.status == 200 && second.json["complete"] as? Bool == true, "\(second.text)")
            // Its content address is checked: bytes that are not what the address says are refused.
            let lying = try await put(file[0..<1000], at: 0, sha256: String(repeating: "ab", count: 32), size: 1000, as: ada.key)
            #expect(lying.status == 409 && lying.errorCode == "digest_mismatch", "\(lying.text)")
            let tooBig = try await put(file[0..<10], at: 0, sha256: String(repeating: "cd", count: 32), size: (1 << 20) + 1, as: ada.key)
            #expect(tooBig.status == 400, "\(tooBig.text)")
            #expect(try await put(file[0..<10], at: 0, as: eve).status == 404)
            // An envelope names only a file uploaded to its conversation.
            let doc = try Self.json(["type": "attachment", "sha256": sha, "size": 1 << 20, "mime": "image/png"])
            #expect(try await Self.post(node, ada.envelope(group, "structured", doc), as: ada.key).status == 201)
            let other = try Self.json(["type": "attachment", "sha256": String(repeating: "ef", count: 32), "size": 10, "mime": "image/png"])
            let missing = try await Self.post(node, ada.envelope(group, "structured", other), as: ada.key)
            #expect(missing.status == 400 && missing.errorCode == "attachment_missing", "\(missing.text)")
            let shapeless = try await Self.post(node, ada.envelope(group, "structured", #"{"type":"attachment","sha256":"\#(sha)"}"#), as: ada.key)
            #expect(shapeless.status == 400 && shapeless.errorCode == "invalid_field", "\(shapeless.text)")
            // Bob reads it back in pieces, exactly; Eve, who is not a member, learns nothing.
            var read: [UInt8] = [], offset: Int? = 0
            while let at = offset {
                let piece = try await Self.call(node, "attachments.get", ["conversation_id": group, "sha256": sha, "offset": at], as: bob.key)
                #expect(piece.status == 200, "\(piece.text)")
                read += Base64URL.decode(piece.json["data"] as? String ?? "") ?? []
                offset = piece.json["next"] as? Int
                if read.count > 2 << 20 { break }
            }
            let same = read == file
            #expect(same, "read \(read.count) bytes, not the file's")
            #expect(try await Self.call(node, "attachments.get", ["conversation_id": group, "sha256": sha], as: eve).status == 404)
            // Knowing the file's address is not having it: in her own group, Eve's claim with a few bytes stays
            // unfinished, and she reads nothing.
            let eveDevice = Device(eve)
            #expect(try await Self.post(node, eveDevice.envelope("g-eve", "create", try Self.json(["kind": "group", "title": "Mine", "members": [bob.id]])), as: eve).status == 201)
            let claim = try await Self.call(node, "attachments.put", ["conversation_id": "g-eve", "sha256": sha, "size": 1 << 20, "mime": "image/png",
                                                                      "offset": 0, "data": Base64URL.encode(Array(file[0..<32768]))], as: eve)
            #expect(claim.status == 200 && claim.json["complete"] as? Bool == false, "\(claim.text)")
            #expect(try await Self.call(node, "attachments.get", ["conversation_id": "g-eve", "sha256": sha], as: eve).status == 404)
            // Pieces come in order, of at least 32 KiB (but the last); at most four unfinished uploads per person.
            let tiny = try await put(file[0..<10], at: 0, sha256: String(repeating: "0a", count: 32), size: 100_000, as: bob.key)
            #expect(tiny.status == 400, "\(tiny.text)")
            for i in 0..<4 {
                #expect(try await put(file[0..<32768], at: 0, sha256: String(repeating: "0\(i)", count: 32), size: 100_000, as: bob.key).status == 200)
            }
            let skipped = try await put(file[0..<32768], at: 65536, sha256: String(repeating: "00", count: 32), size: 100_000, as: bob.key)
            #expect(skipped.status == 409 && skipped.errorCode == "out_of_order" && skipped.text.contains("32768"), "\(skipped.text)")
            let fifth = try await put(file[0..<32768], at: 0, sha256: String(repeating: "09", count: 32), size: 100_000, as: bob.key)
            #expect(fifth.status == 409 && fifth.errorCode == "too_many_uploads", "\(fifth.text)")
            // A hostile offset is refused, not trusted (an overflow would kill the worker).
            let huge = try await Self.call(node, "attachments.put", ["conversation_id": group, "sha256": sha, "size": 100, "mime": "image/png",
                                                                     "offset": Int.max, "data": Base64URL.encode(Array(file[0..<10]))], as: bob.key)
            #expect(huge.status == 400, "\(huge.text)")
        }
    }

    @Test func aDirectConversationHasItsTwoPeople() async throws {
        try await LiveNode.with(messaging: true) { node in
            let ada = Device(try GatewayTests.key(node, "ada")), bob = Device(try GatewayTests.key(node, "bob"))
            let (x, y) = ada.id < bob.id ? (ada.id, bob.id) : (bob.id, ada.id)
            let direct = "d.\(x).\(y)"
            let wrong = try await Self.post(node, ada.envelope("d-mine", "create", try Self.json(["kind": "direct", "members": [bob.id]])), as: ada.key)
            #expect(wrong.status == 400 && wrong.text.contains(direct), "\(wrong.text)")
            #expect(try await Self.post(node, ada.envelope(direct, "create", try Self.json(["kind": "direct", "members": [bob.id]])), as: ada.key).status == 201)
            #expect(try await Self.post(node, bob.envelope(direct, "text", "Can you fix a leak on Friday?"), as: bob.key).status == 201)
            let leave = try await Self.post(node, bob.envelope(direct, "leave", ""), as: bob.key)
            #expect(leave.status == 409 && leave.errorCode == "direct", "\(leave.text)")
            // A second create of the same pair is refused: the conversation exists.
            let twice = try await Self.post(node, bob.envelope(direct, "create", try Self.json(["kind": "direct", "members": [ada.id]]), seq: 1), as: bob.key)
            #expect(twice.status == 409 || twice.status == 400, "\(twice.text)")
        }
    }
    @Test func membersStreamsGetMessagesReceiptsAndTypingLive() async throws {
        try await LiveNode.with(messaging: true) { node in
            let ada = Device(try GatewayTests.key(node, "ada")), bob = Device(try GatewayTests.key(node, "bob"))
            let eve = Device(try GatewayTests.key(node, "eve"))
            let group = "g-live"
            #expect(try await Self.post(node, ada.envelope(group, "create", try Self.json(["kind": "group", "title": "Live", "members": [bob.id]])), as: ada.key).status == 201)
            let (adaStream, head) = try await ClientStreamTests.stream(node, ada.key, app: "messaging")
            #expect(head.status == 200, "\(head)")
            let (bobStream, _) = try await ClientStreamTests.stream(node, bob.key, app: "messaging")
            // Eve is in no conversation here: her stream stays quiet until her own notice.
            let (eveStream, _) = try await ClientStreamTests.stream(node, eve.key, app: "messaging")
            func notice(_ stream: RawConnection) async throws -> [String: Any] {
                let event = try #require(try await stream.event())
                return try #require(try JSONSerialization.jsonObject(with: Data((event["data"] ?? "").utf8)) as? [String: Any])
            }
            // Bob's text reaches both members' streams, as signed, with its place in the log.
            let posted = try await Self.post(node, bob.envelope(group, "text", "Rye at noon"), as: bob.key)
            #expect(posted.status == 201)
            for stream in [adaStream, bobStream] {
                let n = try await notice(stream)
                let envelope = n["envelope"] as? [String: Any]
                #expect(n["type"] as? String == "message" && envelope?["body"] as? String == "Rye at noon" && envelope?["author"] as? String == bob.id, "\(n)")
                #expect((envelope?["ord"] as? String)?.isEmpty == false)
            }
            // Ada types: Bob hears it, Ada does not hear herself.
            #expect(try await Self.call(node, "typing", ["conversation_id": group], as: ada.key).status == 200)
            let typing = try await notice(bobStream)
            #expect(typing["type"] as? String == "typing" && typing["member"] as? String == ada.id, "\(typing)")
            // Ada reads up to Bob's text: Bob gets the read receipt.
            let ord = try #require(posted.json["ord"] as? String)
            #expect(try await Self.call(node, "receipts.read", ["conversation_id": group, "up_to": ord], as: ada.key).status == 200)
            let read = try await notice(bobStream)
            #expect(read["type"] as? String == "read" && read["member"] as? String == ada.id && read["ord"] as? String == ord, "\(read)")
            // An outsider cannot type into the group; a refused post sends nothing.
            #expect(try await Self.call(node, "typing", ["conversation_id": group], as: eve.key).status == 404)
            #expect(try await Self.post(node, eve.envelope(group, "text", "let me in"), as: eve.key).status == 403)
            // Eve's first notice is her own direct conversation's creation, not anything of the group's.
            let (x, y) = ada.id < eve.id ? (ada.id, eve.id) : (eve.id, ada.id)
            #expect(try await Self.post(node, eve.envelope("d.\(x).\(y)", "create", try Self.json(["kind": "direct", "members": [ada.id]])), as: eve.key).status == 201)
            let first = try await notice(eveStream)
            #expect((first["envelope"] as? [String: Any])?["kind"] as? String == "create" && first["conversation_id"] as? String == "d.\(x).\(y)", "\(first)")
        }
    }
}
