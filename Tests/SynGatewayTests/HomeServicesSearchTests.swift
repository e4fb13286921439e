import Foundation
import SynGateway
import SynRuntime
import SynSodium
import Testing

/// Discovery: keywords, filters, ranges and distance, with the score explained.
@Suite struct HomeServicesSearchTests {
    typealias H = HomeServicesTests

    static func space(_ name: String, _ trade: String, _ description: String, _ city: String, _ lat: Double, _ lon: Double) -> String {
        #"{"name":"\#(name)","trade":"\#(trade)","description":"\#(description)","location":{"city":"\#(city)","lat":\#(lat),"lon":\#(lon)},"service_area_km":20,"terms":"","cancellation":{"free_until_hours":24,"fee_percent":0},"time_zone":"Europe/Paris"}"#
    }

    @Test func keywordsFiltersRangesAndDistance() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada")
            var ids: [String: String] = [:]
            for (name, trade, text, city, lat, lon, price) in [
                ("Ada Plumbing", "plumbing", "Boilers and leaks", "Lyon", 45.76, 4.84, 8500),
                ("Rhone Heating", "plumbing", "Boiler servicing, gas safety", "Villeurbanne", 45.77, 4.88, 12000),
                ("Volt Brothers", "electrical", "Rewiring and fuse boards", "Lyon", 45.75, 4.83, 6000),
                ("Paris Pipes", "plumbing", "Leaks and boilers in Paris", "Paris", 48.86, 2.35, 9000),
            ] {
                let id = try #require(try await H.call(node, "spaces.create", Self.space(name, trade, text, city, lat, lon), as: ada).json["id"] as? String)
                ids[name] = id
                let item = #"{"space_id":"\#(id)","title":"Call-out","description":"","kind":"slot","duration_minutes":60,"price":{"model":"fixed","amount":\#(price),"currency":"EUR"}}"#
                #expect(try await H.call(node, "catalog.upsert", item, as: ada).status == 200)
            }
            func search(_ body: String) async throws -> [[String: Any]] {
                let r = try await H.call(node, "search", body, as: nil)
                #expect(r.status == 200, "\(body) → \(r.text)")
                return r.json["hits"] as? [[String: Any]] ?? []
            }
            func names(_ hits: [[String: Any]]) -> Set<String> { Set(hits.compactMap { $0["name"] as? String }) }

            #expect(names(try await search(#"{"q":"boiler"}"#)) == ["Ada Plumbing", "Rhone Heating", "Paris Pipes"])
            #expect(names(try await search(#"{"q":"boiler","city":"lyon"}"#)) == ["Ada Plumbing"])
            #expect(names(try await search(#"{"trade":"electrical"}"#)) == ["Volt Brothers"])
            #expect(names(try await search(#"{"price_min":8000,"price_max":10000}"#)) == ["Ada Plumbing", "Paris Pipes"])
            // A range matches an item inside it, not a Space whose cheapest and dearest items merely straddle it.
            let straddle = #"{"space_id":"\#(ids["Volt Brothers"] ?? "")","id":"rewire","title":"Rewire","description":"","kind":"slot","duration_minutes":480,"price":{"model":"fixed","amount":250000,"currency":"CHF"}}"#
            #expect(try await H.call(node, "catalog.upsert", straddle, as: ada).status == 200)
            #expect(names(try await search(#"{"price_min":8000,"price_max":10000}"#)) == ["Ada Plumbing", "Paris Pipes"])
            #expect(names(try await search(#"{"price_min":200000,"currency":"CHF"}"#)) == ["Volt Brothers"])
            #expect(names(try await search(#"{"price_min":200000,"currency":"EUR"}"#)).isEmpty)
            // 10 km around Lyon's centre: not Paris.
            let near = try await search(#"{"q":"boiler","near":{"lat":45.76,"lon":4.84,"km":10}}"#)
            #expect(names(near) == ["Ada Plumbing", "Rhone Heating"])
            let top = try #require(near.first)
            #expect(top["name"] as? String == "Ada Plumbing" && (top["distance_km"] as? Double ?? 99) < 0.5, "\(near)")
            let components = try #require(top["components"] as? [String: Double])
            #expect(Set(components.keys) == ["text", "rating", "proximity"] && (components["proximity"] ?? 0) > 0.9)
            #expect(try await H.call(node, "search", #"{"q":"boiler"}"#, as: nil).json["formula"] as? String != nil)
            // FTS syntax in the query is only words to look for.
            #expect(try await search(#"{"q":"\"boiler OR NEAR(x*"}"#).count <= 3)
            // Updates reach the index.
            #expect(try await H.call(node, "spaces.update", #"{"id":"\#(ids["Volt Brothers"] ?? "")","description":"Rewiring, fuse boards and boiler controls"}"#, as: ada).status == 200)
            #expect(names(try await search(#"{"q":"boiler","trade":"electrical"}"#)) == ["Volt Brothers"])

            for (body, message) in [(#"{"limit":0}"#, "limit must be 1 to 50"), (#"{"near":{"lat":45,"lon":4,"km":0}}"#, "near.km must be above 0"),
                                    (#"{"price_min":10,"price_max":5}"#, "price_min is above price_max"), (#"{"rating_min":7}"#, "rating_min must be 0 to 5")] {
                let r = try await H.call(node, "search", body, as: nil)
                #expect(r.status == 400 && r.text.contains(message), "\(body) → \(r.text)")
            }
        }
    }
}

/// Jobs, quotes and the pair's history.
@Suite struct HomeServicesJobTests {
    typealias H = HomeServicesTests

    @Test func aQuotedJobBecomesAConfirmedOrderInThePairsHistory() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl"), dora = try GatewayTests.key(node, "dora")
            let space = try #require(try await H.call(node, "spaces.create", H.space, as: ada).json["id"] as? String)
            let job = #"{"space_id":"\#(space)","id":"refit","title":"Bathroom refit","description":"","kind":"job","duration_minutes":480,"price":{"model":"quote","currency":"EUR"}}"#
            #expect(try await H.call(node, "catalog.upsert", job, as: ada).status == 200)
            let now = Int(Date().timeIntervalSince1970 * 1000), week = 7 * 86_400_000
            let window = #""window":{"from_ms":\#(now + week),"to_ms":\#(now + 2 * week)}"#
            for (body, message) in [
                (#"{"space_id":"\#(space)","item_id":"refit","description":"","window":{"from_ms":\#(now + week),"to_ms":\#(now + 2 * week)}}"#, "description must not be empty"),
                (#"{"space_id":"\#(space)","item_id":"refit","description":"x","window":{"from_ms":\#(now + 2 * week),"to_ms":\#(now + week)}}"#, "window.to_ms must be after"),
                (#"{"space_id":"\#(space)","item_id":"refit","description":"x","window":{"from_ms":1000,"to_ms":2000}}"#, "the window is in the past"),
            ] {
                let r = try await H.call(node, "jobs.request", body, as: carl)
                #expect(r.status == 400 && r.text.contains(message), "\(r.text)")
            }
            let requested = try await H.call(node, "jobs.request", #"{"space_id":"\#(space)","item_id":"refit","description":"New shower and tiles",\#(window)}"#, as: carl)
            #expect(requested.status == 201, "\(requested.text)")
            let jobID = try #require(requested.json["id"] as? String)
            // The consumer lists their jobs, the Space's manager the open jobs to quote; a stranger sees none.
            #expect(try await H.call(node, "jobs.list", #"{"role":"consumer"}"#, as: carl).text.contains(jobID))
            #expect(try await H.call(node, "jobs.list", #"{"role":"provider"}"#, as: ada).text.contains(jobID))
            #expect(try await H.call(node, "jobs.list", #"{"role":"provider"}"#, as: dora).text == "[]")
            #expect(try await H.call(node, "jobs.list", #"{"role":"owner"}"#, as: carl).status == 400)
            // Only the Space's managers quote; strangers do not even see the job.
            #expect(try await H.call(node, "quotes.create", #"{"job_id":"\#(jobID)","amount":420000,"currency":"EUR","valid_for_hours":48}"#, as: dora).status == 404)
            #expect(try await H.call(node, "quotes.create", #"{"job_id":"\#(jobID)","amount":-1,"currency":"EUR","valid_for_hours":48}"#, as: ada).status == 400)
            let quote = try await H.call(node, "quotes.create", #"{"job_id":"\#(jobID)","amount":420000,"currency":"EUR","note":"Materials included","valid_for_hours":48}"#, as: ada)
            #expect(quote.status == 201, "\(quote.text)")
            let quoteID = try #require(quote.json["id"] as? String)
            #expect(try await H.call(node, "quotes.accept", #"{"quote_id":"\#(quoteID)"}"#, as: ada).status == 403)  // only the consumer
            let stranger = try GatewayTests.key(node, "stranger")
            #expect(try await H.call(node, "quotes.accept", #"{"quote_id":"\#(quoteID)"}"#, as: stranger).status == 404)  // who learns nothing
            let order = try await H.call(node, "quotes.accept", #"{"quote_id":"\#(quoteID)"}"#, as: carl)
            #expect(order.status == 200 && order.json["state"] as? String == "confirmed" && order.json["kind"] as? String == "job", "\(order.text)")
            #expect((order.json["price"] as? [String: Any])?["amount"] as? Int == 420000)
            #expect(try await H.call(node, "quotes.accept", #"{"quote_id":"\#(quoteID)"}"#, as: carl).status == 409)

            // A second job: one quote is withdrawn by the provider, then the consumer cancels the job.
            let job2 = try #require(try await H.call(node, "jobs.request", #"{"space_id":"\#(space)","item_id":"refit","description":"Shower","window":{"from_ms":\#(now + week),"to_ms":\#(now + 2 * week)}}"#, as: carl).json["id"] as? String)
            func offer(_ amount: Int) async throws -> String {
                try #require(try await H.call(node, "quotes.create", #"{"job_id":"\#(job2)","amount":\#(amount),"currency":"EUR","valid_for_hours":24}"#, as: ada).json["id"] as? String)
            }
            let q2 = try await offer(1000), q3 = try await offer(2000)
            #expect(try await H.call(node, "quotes.withdraw", #"{"quote_id":"\#(q2)"}"#, as: carl).status == 403)      // the consumer
            #expect(try await H.call(node, "quotes.withdraw", #"{"quote_id":"\#(q2)"}"#, as: stranger).status == 404)  // a stranger
            let withdrawn = try await H.call(node, "quotes.withdraw", #"{"quote_id":"\#(q2)"}"#, as: ada)
            #expect(withdrawn.status == 200 && withdrawn.json["state"] as? String == "withdrawn", "\(withdrawn.text)")
            #expect(try await H.call(node, "quotes.withdraw", #"{"quote_id":"\#(q2)"}"#, as: ada).status == 409)
            #expect(try await H.call(node, "quotes.accept", #"{"quote_id":"\#(q2)"}"#, as: carl).status == 409)
            #expect(try await H.call(node, "jobs.cancel", #"{"job_id":"\#(job2)"}"#, as: ada).status == 403)       // a manager
            #expect(try await H.call(node, "jobs.cancel", #"{"job_id":"\#(job2)"}"#, as: stranger).status == 404)
            let cancelled = try await H.call(node, "jobs.cancel", #"{"job_id":"\#(job2)"}"#, as: carl)
            #expect(cancelled.json["state"] as? String == "cancelled", "\(cancelled.text)")
            #expect((cancelled.json["quotes"] as? [[String: Any]])?.map { $0["state"] as? String } == ["withdrawn", "cancelled"])
            #expect(try await H.call(node, "quotes.accept", #"{"quote_id":"\#(q3)"}"#, as: carl).status == 409)
            #expect(try await H.call(node, "quotes.create", #"{"job_id":"\#(job2)","amount":5,"currency":"EUR","valid_for_hours":1}"#, as: ada).status == 409)
            #expect(try await H.call(node, "jobs.cancel", #"{"job_id":"\#(jobID)"}"#, as: carl).status == 409)     // already accepted

            // The pair's history: visible to the consumer and to the Space's managers, to nobody else.
            let mine = try await H.call(node, "history", #"{"space_id":"\#(space)"}"#, as: carl)
            #expect((mine.json["orders"] as? [[String: Any]])?.count == 1, "\(mine.text)")
            let carlID = Base64URL.encode(carl.publicKey)
            let theirs = try await H.call(node, "history", #"{"space_id":"\#(space)","consumer":"\#(carlID)"}"#, as: ada)
            #expect((theirs.json["orders"] as? [[String: Any]])?.count == 1)
            #expect(try await H.call(node, "history", #"{"space_id":"\#(space)","consumer":"\#(carlID)"}"#, as: dora).status == 403)
            #expect((try await H.call(node, "history", #"{"space_id":"\#(space)"}"#, as: dora).json["orders"] as? [Any])?.isEmpty == true)
        }
    }
}

/// Every HomeServices method that acts on someone's Space, order, job or quote, tried by a stranger's signed key:
/// refused (403, or 404 where even the existence is private), and nothing changes.
@Suite struct HomeServicesAuthorizationTests {
    typealias H = HomeServicesTests

    @Test func everyMethodRefusesTheWrongCaller() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl"), eve = try GatewayTests.key(node, "eve")
            let (space, item) = try await HomeServicesBookingTests.setUp(node, ada)
            let job = #"{"space_id":"\#(space)","id":"refit","title":"Refit","description":"","kind":"job","duration_minutes":480,"price":{"model":"quote","currency":"EUR"}}"#
            _ = try await H.call(node, "catalog.upsert", job, as: ada)
            let start = try #require(try await HomeServicesBookingTests.slots(node, space, item, from: HomeServicesBookingTests.parisDate(inDays: 4)).first?["start_ms"] as? Int)
            let order = try #require(try await H.call(node, "bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":\#(start)}"#, as: carl).json["id"] as? String)
            let now = Int(Date().timeIntervalSince1970 * 1000)
            let jobID = try #require(try await H.call(node, "jobs.request", #"{"space_id":"\#(space)","item_id":"refit","description":"Tiles","window":{"from_ms":\#(now + 86_400_000),"to_ms":\#(now + 172_800_000)}}"#, as: carl).json["id"] as? String)
            let quote = try #require(try await H.call(node, "quotes.create", #"{"job_id":"\#(jobID)","amount":1000,"currency":"EUR","valid_for_hours":24}"#, as: ada).json["id"] as? String)
            let before = try await H.call(node, "spaces.get", #"{"id":"\#(space)"}"#, as: nil).text
            let eveID = Base64URL.encode(eve.publicKey), adaID = Base64URL.encode(ada.publicKey), carlID = Base64URL.encode(carl.publicKey)

            for (method, body) in [
                ("spaces.update", #"{"id":"\#(space)","name":"Eve's now"}"#),
                ("spaces.managers.add", #"{"space_id":"\#(space)","manager":"\#(eveID)"}"#),
                ("spaces.managers.remove", #"{"space_id":"\#(space)","manager":"\#(adaID)"}"#),
                ("catalog.upsert", #"{"space_id":"\#(space)","id":"x","title":"x","description":"","kind":"slot","duration_minutes":30,"price":{"model":"fixed","amount":1,"currency":"EUR"}}"#),
                ("catalog.remove", #"{"space_id":"\#(space)","id":"\#(item)"}"#),
                ("availability.set", #"{"space_id":"\#(space)","rules":{"weekly":[]}}"#),
                ("orders.transition", #"{"order_id":"\#(order)","transition":"confirm"}"#),
                ("orders.transition", #"{"order_id":"\#(order)","transition":"cancel"}"#),
                ("orders.get", #"{"order_id":"\#(order)"}"#),
                ("orders.cancel_preview", #"{"order_id":"\#(order)"}"#),
                ("jobs.get", #"{"job_id":"\#(jobID)"}"#),
                ("quotes.create", #"{"job_id":"\#(jobID)","amount":1,"currency":"EUR","valid_for_hours":1}"#),
                ("quotes.accept", #"{"quote_id":"\#(quote)"}"#),
                ("quotes.withdraw", #"{"quote_id":"\#(quote)"}"#),
                ("jobs.cancel", #"{"job_id":"\#(jobID)"}"#),
                ("reviews.create", #"{"order_id":"\#(order)","rating":1,"text":"spam"}"#),
                ("history", #"{"space_id":"\#(space)","consumer":"\#(carlID)"}"#),
                ("vouch", #"{"space_id":"nope"}"#),
            ] {
                let r = try await H.call(node, method, body, as: eve)
                #expect([403, 404].contains(r.status), "\(method) by a stranger → \(r.status) \(r.text)")
            }
            // A consumer cannot act as the provider either.
            #expect(try await H.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"confirm"}"#, as: carl).status == 403)
            #expect(try await H.call(node, "quotes.create", #"{"job_id":"\#(jobID)","amount":1,"currency":"EUR","valid_for_hours":1}"#, as: carl).status == 404)
            // Nothing changed.
            #expect(try await H.call(node, "spaces.get", #"{"id":"\#(space)"}"#, as: nil).text == before)
            #expect(try await H.call(node, "orders.get", #"{"order_id":"\#(order)"}"#, as: carl).json["state"] as? String == "requested")
            #expect((try await H.call(node, "catalog.list", #"{"id":"\#(space)"}"#, as: nil).json["items"] as? [Any])?.count == 2)
        }
    }
}

/// The issue's scenario in one go, through the real gateway with a provider key and a consumer key.
@Suite struct HomeServicesScenarioTests {
    typealias H = HomeServicesTests

    @Test func fromSearchToAVerifiedReview() async throws {
        try await LiveNode.with { node in
            let provider = try GatewayTests.key(node, "provider"), consumer = try GatewayTests.key(node, "consumer")
            // The provider: a Space, a catalog item, availability.
            let (space, item) = try await HomeServicesBookingTests.setUp(node, provider)
            // The consumer: finds the plumber by keyword and distance, lists slots, books one.
            let hits = try await H.call(node, "search", #"{"q":"leaks","trade":"plumbing","near":{"lat":45.75,"lon":4.85,"km":15}}"#, as: nil)
            #expect((hits.json["hits"] as? [[String: Any]])?.first?["space_id"] as? String == space, "\(hits.text)")
            let slot = try #require(try await HomeServicesBookingTests.slots(node, space, item, from: HomeServicesBookingTests.parisDate(inDays: 6)).first)
            let booked = try await H.call(node, "bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":\#(slot["start_ms"] as? Int ?? 0)}"#, as: consumer)
            let order = try #require(booked.json["id"] as? String)
            // Confirmed, done, reviewed by both sides.
            for t in ["confirm", "start", "complete"] {
                #expect(try await H.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"\#(t)"}"#, as: provider).status == 200)
            }
            #expect(try await H.call(node, "reviews.create", #"{"order_id":"\#(order)","rating":5,"text":"Great"}"#, as: consumer).status == 200)
            #expect(try await H.call(node, "reviews.create", #"{"order_id":"\#(order)","rating":5,"text":"Punctual"}"#, as: provider).status == 200)
            // The review receipt verifies with libsodium outside the app.
            let review = try #require((try await H.call(node, "reviews.list", #"{"id":"\#(space)"}"#, as: nil).json["reviews"] as? [[String: Any]])?.first)
            let signed = try #require(Data(base64Encoded: review["signed_json"] as? String ?? ""))
            #expect(Ed25519.verify(publicKey: try #require(Hex.decode(review["app_key"] as? String ?? "")), domain: .app("homeservices"),
                                   message: Array(signed), signature: try #require(Hex.decode(review["signature"] as? String ?? ""))))
            let history = try await H.call(node, "history", #"{"space_id":"\#(space)"}"#, as: consumer)
            #expect(((history.json["orders"] as? [[String: Any]])?.first?["state"] as? String) == "completed")
            #expect(try await H.call(node, "reputation.get", #"{"id":"\#(space)"}"#, as: nil).json["rating_count"] as? Int == 1)
        }
    }
}
