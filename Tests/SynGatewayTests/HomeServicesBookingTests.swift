import Foundation
import SynBroker
import SynGateway
import SynRuntime
import SynSodium
import Testing

/// Availability, slots, bookings and orders through the real gateway.
@Suite struct HomeServicesBookingTests {
    typealias H = HomeServicesTests

    /// A Space in Paris with one 60-minute slot item, open 09:00–12:00 every day.
    static func setUp(_ node: LiveNode, _ ada: SigningKey, itemPolicy: String = "") async throws -> (space: String, item: String) {
        let space = try #require(try await H.call(node, "spaces.create", H.space, as: ada).json["id"] as? String)
        let item = #"{"space_id":"\#(space)","id":"leak","title":"Leak repair","description":"","kind":"slot","duration_minutes":60,"price":{"model":"fixed","amount":8500,"currency":"EUR"}\#(itemPolicy)}"#
        #expect(try await H.call(node, "catalog.upsert", item, as: ada).status == 200)
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { #"{"day":"\#($0)","start":"09:00","end":"12:00"}"# }.joined(separator: ",")
        let rules = #"{"space_id":"\#(space)","rules":{"weekly":[\#(days)],"buffer_minutes":0,"min_notice_minutes":0,"horizon_days":30,"request_expiry_minutes":60}}"#
        let set = try await H.call(node, "availability.set", rules, as: ada)
        #expect(set.status == 200, "\(set.text)")
        // A manager reads the rules back as stored (what the manager's page edits); nobody else may.
        let got = try await H.call(node, "availability.get", #"{"space_id":"\#(space)"}"#, as: ada)
        #expect(got.status == 200 && got.text == set.text, "\(got.text)")
        #expect(try await H.call(node, "availability.get", #"{"space_id":"\#(space)"}"#, as: try SigningKey.generate()).status == 403)
        return (space, "leak")
    }

    /// "YYYY-MM-DD" in Paris, `days` from today.
    static func parisDate(inDays days: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Paris") ?? .gmt
        let day = calendar.date(byAdding: .day, value: days, to: Date()) ?? Date()
        let c = calendar.dateComponents([.year, .month, .day], from: day)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    static func slots(_ node: LiveNode, _ space: String, _ item: String, from: String) async throws -> [[String: Any]] {
        let r = try await H.call(node, "slots.list", #"{"space_id":"\#(space)","item_id":"\#(item)","from":"\#(from)","days":1}"#, as: nil)
        #expect(r.status == 200, "\(r.text)")
        return r.json["slots"] as? [[String: Any]] ?? []
    }

    @Test func aBookingFromSlotToCompletedOrder() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl"), dora = try GatewayTests.key(node, "dora")
            let (space, item) = try await Self.setUp(node, ada)
            let date = Self.parisDate(inDays: 3)
            let free = try await Self.slots(node, space, item, from: date)
            #expect(free.count == 3 && (free.first?["local"] as? String)?.hasPrefix(date + "T09:00+0") == true, "\(free)")
            let start = try #require(free.first?["start_ms"] as? Int)

            let booked = try await H.call(node, "bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":\#(start),"note":"Kitchen sink"}"#, as: carl)
            #expect(booked.status == 201 && booked.json["state"] as? String == "requested", "\(booked.text)")
            let order = try #require(booked.json["id"] as? String)
            #expect(try await Self.slots(node, space, item, from: date).count == 2)
            let taken = try await H.call(node, "bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":\#(start)}"#, as: dora)
            #expect(taken.status == 409 && taken.text.contains("slot_taken"), "\(taken.text)")

            func move(_ transition: String, _ key: SigningKey) async throws -> LiveNode.Reply {
                try await H.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"\#(transition)"}"#, as: key)
            }
            #expect(try await move("confirm", carl).status == 403)        // a consumer cannot confirm
            #expect(try await move("confirm", dora).status == 404)        // a stranger sees no order
            #expect(try await move("confirm", ada).json["state"] as? String == "confirmed")
            let preview = try await H.call(node, "orders.cancel_preview", #"{"order_id":"\#(order)"}"#, as: carl)
            #expect((preview.json["fee"] as? [String: Any])?["amount"] as? Int == 0, "\(preview.text)")  // 3 days ahead, 24 h policy
            #expect(try await move("start", ada).json["state"] as? String == "in_progress")
            #expect(try await move("complete", carl).status == 403)       // a consumer cannot complete
            let done = try await move("complete", ada)
            #expect(done.json["state"] as? String == "completed")
            let history = try #require(done.json["history"] as? [[String: Any]])
            #expect(history.map { $0["transition"] as? String } == ["create", "confirm", "start", "complete"])
            #expect(history.map { $0["role"] as? String } == ["consumer", "provider", "provider", "provider"])
            #expect(history[0]["actor"] as? String == Base64URL.encode(carl.publicKey))
            #expect(history[1]["actor"] as? String == Base64URL.encode(ada.publicKey))

            let mine = try await node.request("POST", "/v1/apps/homeservices/orders.list", body: #"{"role":"consumer"}"#, sign: carl)
            #expect(mine.text.contains(order))
            let theirs = try await node.request("POST", "/v1/apps/homeservices/orders.list", body: #"{"role":"provider"}"#, sign: ada)
            #expect(theirs.text.contains(order))
            #expect(!(try await node.request("POST", "/v1/apps/homeservices/orders.list", body: #"{"role":"consumer"}"#, sign: dora)).text.contains(order))

            let types = node.runtime.broker.events.pending(for: "observer", limit: 500).map(\.type)
            for type in ["homeservices.booking.requested", "homeservices.order.confirm", "homeservices.order.complete", "homeservices.booking.confirm"] {
                #expect(types.contains(type), "\(type) in \(types)")
            }
        }
    }

    @Test func thirtyTwoClientsRaceForOneSlotAndOneWins() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada")
            let (space, item) = try await Self.setUp(node, ada)
            let start = try #require(try await Self.slots(node, space, item, from: Self.parisDate(inDays: 5)).first?["start_ms"] as? Int)
            let keys = try (0..<32).map { try GatewayTests.key(node, "racer\($0)") }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for key in keys {
                    group.addTask {
                        try await H.call(node, "bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":\#(start)}"#, as: key).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 409 }.count == 31, "\(statuses)")
        }
    }

    @Test func lateCancellationsCostThePolicysFee() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl")
            // Free only until 240 h (10 days) before: a booking 3 days ahead already costs 50%.
            let (space, item) = try await Self.setUp(node, ada, itemPolicy: #","cancellation":{"free_until_hours":240,"fee_percent":50}"#)
            let start = try #require(try await Self.slots(node, space, item, from: Self.parisDate(inDays: 3)).first?["start_ms"] as? Int)
            let order = try #require(try await H.call(node, "bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":\#(start)}"#, as: carl).json["id"] as? String)
            _ = try await H.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"confirm"}"#, as: ada)
            let preview = try await H.call(node, "orders.cancel_preview", #"{"order_id":"\#(order)"}"#, as: carl)
            #expect((preview.json["fee"] as? [String: Any])?["amount"] as? Int == 4250, "\(preview.text)")
            // The preview changed nothing; the consumer may still cancel, freeing the slot.
            let cancelled = try await H.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"cancel"}"#, as: carl)
            #expect(cancelled.json["state"] as? String == "cancelled")
            #expect(try await Self.slots(node, space, item, from: Self.parisDate(inDays: 3)).count == 3)
        }
    }

    @Test func badBookingInputIs400Or409() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl")
            let (space, item) = try await Self.setUp(node, ada)
            for (method, body, status, message) in [
                ("slots.list", #"{"space_id":"\#(space)","item_id":"\#(item)","days":0}"#, 400, "days must be 1 to 90"),
                ("slots.list", #"{"space_id":"\#(space)","item_id":"\#(item)","from":"2026-13-01"}"#, 400, "from must be a date"),
                ("bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":1000}"#, 400, "start_ms is in the past"),
                ("bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":"soon"}"#, 400, #"field \"start_ms\": expected a number"#),
                ("bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":4102444800000}"#, 409, "no free slot"),
                ("availability.set", #"{"space_id":"\#(space)","rules":{"weekly":[{"day":"mon","start":"17:00","end":"09:00"}]}}"#, 400, "ends before it starts"),
                ("availability.set", #"{"space_id":"\#(space)","rules":{"weekly":[{"day":"funday","start":"09:00","end":"17:00"}]}}"#, 400, "day must be mon"),
                ("availability.set", #"{"space_id":"\#(space)","rules":{"weekly":[],"buffer_minutes":-5}}"#, 400, "buffer_minutes must be 0"),
                ("orders.list", #"{"role":"admin"}"#, 400, "role must be consumer or provider"),
            ] {
                let r = try await H.call(node, method, body, as: method == "availability.set" ? ada : carl)
                #expect(r.status == status && r.text.contains(message), "\(method) \(body) → \(r.status) \(r.text)")
            }
            // Wrong callers: only managers set availability.
            let rules = #"{"space_id":"\#(space)","rules":{"weekly":[]}}"#
            #expect(try await H.call(node, "availability.set", rules, as: carl).status == 403)
        }
    }
}

/// Reviews, signed receipts and reputation through the real gateway.
@Suite struct HomeServicesReviewTests {
    typealias H = HomeServicesTests

    @Test func doubleBlindReviewsWithReceiptsThatVerifyOutsideTheApp() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl"), dora = try GatewayTests.key(node, "dora")
            let (space, item) = try await HomeServicesBookingTests.setUp(node, ada)
            let start = try #require(try await HomeServicesBookingTests.slots(node, space, item, from: HomeServicesBookingTests.parisDate(inDays: 2)).first?["start_ms"] as? Int)
            let order = try #require(try await H.call(node, "bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":\#(start)}"#, as: carl).json["id"] as? String)
            let review = #"{"order_id":"\#(order)","rating":5,"text":"Fixed in twenty minutes, spotless."}"#
            let early = try await H.call(node, "reviews.create", review, as: carl)
            #expect(early.status == 409 && early.text.contains("only a completed order"), "\(early.text)")
            for t in ["confirm", "start", "complete"] {
                #expect(try await H.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"\#(t)"}"#, as: ada).status == 200)
            }
            #expect(try await H.call(node, "reviews.create", review, as: dora).status == 404)
            #expect(try await H.call(node, "reviews.create", #"{"order_id":"\#(order)","rating":6,"text":""}"#, as: carl).status == 400)
            let first = try await H.call(node, "reviews.create", review, as: carl)
            #expect(first.status == 200 && first.json["published"] as? Bool == false, "\(first.text)")
            #expect(try await H.call(node, "reviews.create", review, as: carl).status == 409)
            // Double-blind: nothing is visible until the other side has reviewed too.
            #expect((try await H.call(node, "reviews.list", #"{"id":"\#(space)"}"#, as: nil).json["reviews"] as? [Any])?.isEmpty == true)
            let second = try await H.call(node, "reviews.create", #"{"order_id":"\#(order)","rating":4,"text":"Clear instructions."}"#, as: ada)
            #expect(second.json["published"] as? Bool == true, "\(second.text)")
            // The provider's review of the consumer is shown only in the pair's history, to the two of them.
            let pair = try await H.call(node, "history", #"{"space_id":"\#(space)"}"#, as: carl)
            let pairReviews = try #require(pair.json["reviews"] as? [[String: Any]], "\(pair.text)")
            #expect(pairReviews.map { $0["author_role"] as? String } == ["consumer", "provider"])
            #expect(pairReviews.last?["rating"] as? Int == 4 && pairReviews.last?["text"] as? String == "Clear instructions.")
            #expect((try await H.call(node, "history", #"{"space_id":"\#(space)"}"#, as: dora).json["reviews"] as? [Any])?.isEmpty == true)

            let list = try await H.call(node, "reviews.list", #"{"id":"\#(space)"}"#, as: nil)
            let published = try #require((list.json["reviews"] as? [[String: Any]])?.first)
            let signed = try #require(Data(base64Encoded: published["signed_json"] as? String ?? ""))
            let signature = try #require(Hex.decode(published["signature"] as? String ?? ""))
            let appKey = try #require(Hex.decode(published["app_key"] as? String ?? ""))
            // libsodium, outside the app: the receipt verifies in the app's signature domain, and only there.
            #expect(Ed25519.verify(publicKey: appKey, domain: .app("homeservices"), message: Array(signed), signature: signature))
            #expect(!Ed25519.verify(publicKey: appKey, domain: .app("other"), message: Array(signed), signature: signature))
            #expect(appKey == node.runtime.broker.publicKey(of: "homeservices"))
            let receipt = try #require(try JSONSerialization.jsonObject(with: signed) as? [String: Any])
            #expect(receipt["orderId"] as? String == order && receipt["rating"] as? Int == 5 && receipt["space"] as? String == space)
            #expect(receipt["consumer"] as? String == Base64URL.encode(carl.publicKey) && (receipt["timeMs"] as? Int ?? 0) > 0)

            // Reputation: the documented formula and its components.
            let rep = try await H.call(node, "reputation.get", #"{"id":"\#(space)"}"#, as: nil)
            #expect(rep.json["score"] as? Double == 3.75 && rep.json["rating_count"] as? Int == 1, "\(rep.text)")
            #expect((rep.json["formula"] as? String)?.contains("(C*m + sum_ratings) / (C + n)") == true)
            #expect(try await H.call(node, "vouch", #"{"space_id":"\#(space)"}"#, as: ada).status == 403)
            let vouched = try await H.call(node, "vouch", #"{"space_id":"\#(space)","text":"Trusted neighbour"}"#, as: dora)
            #expect(vouched.json["vouches"] as? Int == 1 && vouched.json["score"] as? Double == 3.8, "\(vouched.text)")
            #expect(try await H.call(node, "vouch", #"{"space_id":"\#(space)"}"#, as: dora).status == 409)
        }
    }
}
