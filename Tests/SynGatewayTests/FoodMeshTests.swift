import Foundation
import SynBroker
import SynGateway
import SynRuntime
import SynSodium
import SynSQLite
import Testing

/// FoodMesh through the real gateway, with signed requests from store managers and customers, four workers
/// sharing the app's database.
@Suite struct FoodMeshTests {
    static let everyDay = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .map { #"{"day":"\#($0)","start":"00:00","end":"24:00"}"# }.joined(separator: ",")
    static let store = #"""
        {"name":"Rye & Co","kind":"bakery","description":"Sourdough, baked at dawn","location":{"city":"Lyon","lat":45.76,"lon":4.84},
         "time_zone":"Europe/Paris","currency":"EUR","terms":"Collect within your window.","hours":[\#(everyDay)],
         "delivery_zones":[{"name":"centre","radius_km":3,"fee":300,"min_order":1000},{"name":"north","postcodes":["69004"],"fee":500,"min_order":2000}],
         "hold_minutes":15,"policy":{"cancel_fee_percent":50,"uncollected":"charge"}}
        """#

    static func call(_ node: LiveNode, _ method: String, _ body: String, as key: SigningKey?) async throws -> LiveNode.Reply {
        try await node.request("POST", "/v1/apps/foodmesh/\(method)", body: body, sign: key)
    }

    /// A store of `manager`'s with one product of `stock` units (or unlimited) at 550.
    static func setUp(_ node: LiveNode, manager: SigningKey, stock: Int?) async throws -> (store: String, product: String) {
        let created = try await call(node, "stores.create", store, as: manager)
        try #require(created.status == 201, "\(created.text)")
        let id = try #require(created.json["id"] as? String)
        let count = stock.map { #""stock":\#($0)"# } ?? #""unlimited":true"#
        let product = try await call(node, "products.upsert", #"""
            {"store_id":"\#(id)","id":"rye-loaf","title":"Rye loaf","description":"800 g, sourdough","unit":"loaf","price":550,
             "tags":["sourdough"],"attributes":{"vegetarian":true,"allergens":["gluten"]},\#(count)}
            """#, as: manager)
        try #require(product.status == 200, "\(product.text)")
        return (id, "rye-loaf")
    }

    static func pickup() -> String {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return #"{"type":"pickup","from_ms":\#(now + 3_600_000),"until_ms":\#(now + 5_400_000)}"#
    }

    static func quote(_ node: LiveNode, _ store: String, _ quantity: Int, as key: SigningKey, fulfilment: String? = nil) async throws -> LiveNode.Reply {
        try await call(node, "orders.quote", #"""
            {"store_id":"\#(store)","items":[{"product_id":"rye-loaf","quantity":\#(quantity)}],"fulfilment":\#(fulfilment ?? pickup())}
            """#, as: key)
    }

    static func product(_ node: LiveNode, _ store: String) async throws -> [String: Any] {
        let list = try await call(node, "products.list", #"{"store_id":"\#(store)"}"#, as: nil)
        return try #require((list.json["products"] as? [[String: Any]])?.first { $0["id"] as? String == "rye-loaf" })
    }

    @Test func anOrderFromQuoteToReview() async throws {
        try await LiveNode.with(foodmesh: true) { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl")
            let (store, _) = try await Self.setUp(node, manager: ada, stock: 10)
            let quoted = try await Self.quote(node, store, 2, as: carl)
            #expect(quoted.status == 201, "\(quoted.text)")
            #expect(quoted.json["total"] as? Int == 1100 && quoted.json["state"] as? String == "held")
            #expect((quoted.json["policy"] as? [String: Any])?["cancel_fee_percent"] as? Int == 50)
            let held = try await Self.product(node, store)
            #expect(held["stock"] as? Int == 10 && held["held"] as? Int == 2 && held["available"] as? Int == 8)
            let quoteID = try #require(quoted.json["id"] as? String)
            let placed = try await Self.call(node, "orders.place", #"{"quote_id":"\#(quoteID)","payment_method":"cash_on_pickup"}"#, as: carl)
            #expect(placed.status == 201, "\(placed.text)")
            let order = try #require(placed.json["id"] as? String)
            #expect(placed.json["state"] as? String == "placed")
            #expect((placed.json["payments"] as? [String: Any])?["status"] as? String == "pending")
            let sold = try await Self.product(node, store)
            #expect(sold["stock"] as? Int == 8 && sold["held"] as? Int == 0)
            // The same quote is placed once.
            let again = try await Self.call(node, "orders.place", #"{"quote_id":"\#(quoteID)","payment_method":"cash_on_pickup"}"#, as: carl)
            #expect(again.status == 409 && again.errorCode == "quote_placed", "\(again.text)")

            for step in ["accept", "prepare", "ready", "pick_up"] {
                let moved = try await Self.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"\#(step)"}"#, as: ada)
                #expect(moved.status == 200, "\(step): \(moved.text)")
            }
            let collected = try await Self.call(node, "orders.get", #"{"order_id":"\#(order)"}"#, as: carl)
            #expect(collected.json["state"] as? String == "picked_up")
            let paid = try #require(collected.json["payments"] as? [String: Any])
            #expect(paid["status"] as? String == "captured" && paid["captured"] as? Int == 1100, "\(paid)")
            #expect(collected.json["allowed"] as? [String] == ["complete"])
            #expect(try await Self.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"complete"}"#, as: carl).status == 200)

            // Both sides review; the customer's review is a receipt the app signed, which verifies without the node.
            #expect(try await Self.call(node, "reviews.create", #"{"order_id":"\#(order)","rating":5,"text":"Best rye in town"}"#, as: carl).status == 200)
            #expect(try await Self.call(node, "reviews.create", #"{"order_id":"\#(order)","rating":5,"text":"On time"}"#, as: ada).status == 200)
            let review = try #require((try await Self.call(node, "reviews.list", #"{"id":"\#(store)"}"#, as: nil).json["reviews"] as? [[String: Any]])?.first)
            let signed = try #require(Data(base64Encoded: review["signed_json"] as? String ?? ""))
            #expect(Ed25519.verify(publicKey: try #require(Hex.decode(review["app_key"] as? String ?? "")), domain: .app("foodmesh"),
                                   message: Array(signed), signature: try #require(Hex.decode(review["signature"] as? String ?? ""))))
            #expect(try await Self.call(node, "reputation.get", #"{"id":"\#(store)"}"#, as: nil).json["rating_count"] as? Int == 1)

            // Search finds it (and the score explains itself); the store lists its order.
            let found = try await Self.call(node, "search", #"{"q":"rye","in_stock":true,"vegetarian":true,"near":{"lat":45.76,"lon":4.85,"km":5}}"#, as: nil)
            let hit = try #require((found.json["hits"] as? [[String: Any]])?.first, "\(found.text)")
            #expect(hit["product_id"] as? String == "rye-loaf" && hit["available"] as? Int == 8 && (hit["distance_km"] as? Double ?? 99) < 1)
            #expect((hit["components"] as? [String: Any])?["text"] != nil)
            let listed = try await Self.call(node, "orders.list", #"{"role":"store","store_id":"\#(store)"}"#, as: ada)
            #expect((listed.json["orders"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func sixtyFourCustomersBuyTheLastTenUnits() async throws {
        try await LiveNode.with(foodmesh: true) { node in
            let ada = try GatewayTests.key(node, "ada")
            let (store, _) = try await Self.setUp(node, manager: ada, stock: 10)
            let customers = try (0..<64).map { try GatewayTests.key(node, "customer\($0)") }
            // Each customer quotes one loaf and places it at once, as a phone would; a busy node (503) is retried.
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for customer in customers {
                    group.addTask {
                        func send(_ method: String, _ body: String) async throws -> LiveNode.Reply {
                            var reply = try await Self.call(node, method, body, as: customer)
                            for _ in 0..<200 where reply.status == 503 {
                                try await Task.sleep(for: .milliseconds(20))
                                reply = try await Self.call(node, method, body, as: customer)
                            }
                            return reply
                        }
                        let quoted = try await send("orders.quote", #"{"store_id":"\#(store)","items":[{"product_id":"rye-loaf","quantity":1}],"fulfilment":\#(Self.pickup())}"#)
                        guard quoted.status == 201, let id = quoted.json["id"] as? String else { return "quote \(quoted.status) \(quoted.errorCode ?? quoted.text)" }
                        let placed = try await send("orders.place", #"{"quote_id":"\#(id)","payment_method":"cash_on_pickup"}"#)
                        return placed.status == 201 ? "sold" : "place \(placed.status) \(placed.errorCode ?? placed.text)"
                    }
                }
                var all: [String] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            #expect(outcomes.filter { $0 == "sold" }.count == 10, "\(Dictionary(grouping: outcomes, by: { $0 }).mapValues(\.count))")
            #expect(outcomes.filter { $0 != "sold" }.allSatisfy { $0 == "quote 409 out_of_stock" }, "\(Set(outcomes))")
            let after = try await Self.product(node, store)
            #expect(after["stock"] as? Int == 0 && after["held"] as? Int == 0 && after["available"] as? Int == 0, "\(after)")
            let orders = try await Self.call(node, "orders.list", #"{"role":"store","store_id":"\#(store)"}"#, as: ada)
            #expect((orders.json["orders"] as? [[String: Any]])?.count == 10)
            // 74 quotes' holds and 10 orders' expiries are due work in the app's database, under one node timer: the
            // node's per-app timer quota bounds timers, not orders.
            #expect(node.runtime.broker.events.pendingTimerCount(for: "foodmesh") == 1)
        }
    }

    /// Stops `node`, lets the holds' minutes pass for FoodMesh (its quotes' holds end, as the app's clock sees
    /// them; with `timers`, its due work and the node timer that wakes it come due too), and starts it again.
    static func afterMinutes<R>(_ node: LiveNode, timers: Bool, _ body: (LiveNode) async throws -> R) async throws -> R {
        await node.stop()
        if timers {
            let db = try Database(path: node.data + "/node.db")
            _ = try db.execute("UPDATE timers SET due_ns = 0 WHERE app = 'foodmesh'", [])
            db.close()
        }
        let app = try Database(path: node.data + "/apps/foodmesh/app.db")
        _ = try app.execute("UPDATE quotes SET expires_ms = 0", [])
        if timers { _ = try app.execute("UPDATE syn_due SET due_ms = 0", []) }
        app.close()
        return try await LiveNode.reopened(node, body)
    }

    @Test func holdsThatExpireReturnTheirStock() async throws {
        let ada = try SigningKey.generate(), carl = try SigningKey.generate(), dora = try SigningKey.generate()
        var store = "", first = ""
        try await LiveNode.with(foodmesh: true) { node in
            (store, _) = try await Self.setUp(node, manager: ada, stock: 3)
            let quoted = try await Self.quote(node, store, 3, as: carl)
            first = try #require(quoted.json["id"] as? String, "\(quoted.text)")
            let none = try await Self.quote(node, store, 1, as: dora)
            #expect(none.status == 409 && none.errorCode == "out_of_stock" && none.text.contains("only 0 loaf"), "\(none.text)")
            // Past its hold and before its timer: refused, the stock still held.
            try await Self.afterMinutes(node, timers: false) { node in
                let late = try await Self.call(node, "orders.place", #"{"quote_id":"\#(first)","payment_method":"cash_on_pickup"}"#, as: carl)
                #expect(late.status == 409 && late.errorCode == "quote_expired", "\(late.text)")
                let stillHeld = try await Self.quote(node, store, 1, as: dora)
                #expect(stillHeld.status == 409 && stillHeld.errorCode == "out_of_stock", "\(stillHeld.text)")
                // The timer fires: the stock comes back, and the quote stays refused.
                try await Self.afterMinutes(node, timers: true) { node in
                    var product = try await Self.product(node, store)
                    for _ in 0..<500 where product["available"] as? Int != 3 {
                        try await Task.sleep(for: .milliseconds(10))
                        product = try await Self.product(node, store)
                    }
                    #expect(product["held"] as? Int == 0 && product["available"] as? Int == 3, "\(product)")
                    let released = try await Self.call(node, "orders.place", #"{"quote_id":"\#(first)","payment_method":"cash_on_pickup"}"#, as: carl)
                    #expect(released.status == 409 && released.errorCode == "quote_released", "\(released.text)")
                    #expect(try await Self.quote(node, store, 3, as: dora).status == 201)
                }
            }
        }
    }

    @Test func cancellationsRejectionsAndMissingItemsMoveMoneyAndStock() async throws {
        try await LiveNode.with(foodmesh: true) { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl")
            let (store, _) = try await Self.setUp(node, manager: ada, stock: 20)
            #expect(try await Self.call(node, "products.upsert", #"{"store_id":"\#(store)","id":"croissant","title":"Croissant","description":"","unit":"piece","price":150,"unlimited":true}"#, as: ada).status == 200)
            func order(_ quantity: Int, payment: String, croissants: Int = 0, fulfilment: String? = nil) async throws -> String {
                let items = #"[{"product_id":"rye-loaf","quantity":\#(quantity)}"# + (croissants > 0 ? #",{"product_id":"croissant","quantity":\#(croissants)}]"# : "]")
                let quoted = try await Self.call(node, "orders.quote", #"{"store_id":"\#(store)","items":\#(items),"fulfilment":\#(fulfilment ?? Self.pickup())}"#, as: carl)
                let id = try #require(quoted.json["id"] as? String, "\(quoted.text)")
                let placed = try await Self.call(node, "orders.place", #"{"quote_id":"\#(id)","payment_method":"\#(payment)"}"#, as: carl)
                return try #require(placed.json["id"] as? String, "\(placed.text)")
            }
            func take(_ order: String, _ transition: String, as key: SigningKey) async throws -> LiveNode.Reply {
                try await Self.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"\#(transition)"}"#, as: key)
            }
            func stock() async throws -> Int { try await Self.product(node, store)["stock"] as? Int ?? -1 }

            // Before the store accepts, cancelling is free and the loaves go back on the shelf.
            let early = try await order(2, payment: "cash_on_pickup")
            #expect(try await stock() == 18)
            let freePreview = try await Self.call(node, "orders.cancel_preview", #"{"order_id":"\#(early)"}"#, as: carl)
            #expect(freePreview.json["fee"] as? Int == 0 && (freePreview.json["reason"] as? String)?.contains("free") == true, "\(freePreview.text)")
            #expect(try await take(early, "cancel", as: carl).json["state"] as? String == "cancelled")
            #expect(try await stock() == 20)

            // A prepaid order is prepared once paid; cancelled after acceptance, the policy keeps half.
            let prepaid = try await order(4, payment: "prepaid_manual")
            #expect(try await take(prepaid, "accept", as: ada).status == 200)
            let unpaid = try await take(prepaid, "prepare", as: ada)
            #expect(unpaid.status == 409 && unpaid.errorCode == "not_paid", "\(unpaid.text)")
            let paid = try await Self.call(node, "payments.record", #"{"order_id":"\#(prepaid)","step":"captured"}"#, as: ada)
            #expect(paid.json["captured"] as? Int == 2200 && paid.json["status"] as? String == "captured", "\(paid.text)")
            let over = try await Self.call(node, "payments.record", #"{"order_id":"\#(prepaid)","step":"captured","amount":1}"#, as: ada)
            #expect(over.status == 409 && over.errorCode == "over_capture", "\(over.text)")
            #expect(try await take(prepaid, "prepare", as: ada).status == 200)
            let feePreview = try await Self.call(node, "orders.cancel_preview", #"{"order_id":"\#(prepaid)"}"#, as: carl)
            #expect(feePreview.json["fee"] as? Int == 1100 && feePreview.json["refund"] as? Int == 1100, "\(feePreview.text)")
            #expect(try await stock() == 16)
            let cancelled = try await take(prepaid, "cancel", as: carl)
            let ledger = try #require(cancelled.json["payments"] as? [String: Any])
            #expect(cancelled.json["state"] as? String == "cancelled" && ledger["status"] as? String == "partly_refunded" && ledger["refunded"] as? Int == 1100, "\(cancelled.text)")
            #expect(try await stock() == 20)

            // The store rejects with a reason id; the stock comes back.
            let rejected = try await order(3, payment: "cash_on_pickup")
            #expect(try await take(rejected, "reject", as: ada).errorCode == "reason_required")
            let bad = try await Self.call(node, "orders.reject", #"{"order_id":"\#(rejected)","reason_id":"bored"}"#, as: ada)
            #expect(bad.status == 400 && bad.text.contains("reason_id must be one of"))
            let no = try await Self.call(node, "orders.reject", #"{"order_id":"\#(rejected)","reason_id":"too_busy","note":"Oven broke"}"#, as: ada)
            #expect(no.json["state"] as? String == "rejected" && no.json["reject_reason"] as? String == "too_busy", "\(no.text)")
            #expect(try await stock() == 20)

            // Delivered and paid on delivery, with a croissant missing: that line is not charged.
            let delivery = #"{"type":"delivery","address":"1 place Bellecour","point":{"lat":45.757,"lon":4.832}}"#
            let delivered = try await order(2, payment: "pay_on_delivery", croissants: 2, fulfilment: delivery)
            for step in ["accept", "prepare"] { #expect(try await take(delivered, step, as: ada).status == 200) }
            let missing = try await Self.call(node, "orders.item_missing", #"{"order_id":"\#(delivered)","product_id":"croissant"}"#, as: ada)
            #expect(missing.json["total"] as? Int == 1100 + 300, "\(missing.text)")
            #expect(try await take(delivered, "ready", as: ada).status == 200)
            #expect(try await take(delivered, "pick_up", as: ada).errorCode == "not_pickup")
            for step in ["dispatch", "deliver"] { #expect(try await take(delivered, step, as: ada).status == 200) }
            let done = try await Self.call(node, "orders.get", #"{"order_id":"\#(delivered)"}"#, as: carl)
            let money = try #require(done.json["payments"] as? [String: Any])
            #expect(done.json["state"] as? String == "delivered" && money["captured"] as? Int == 1400 && money["status"] as? String == "captured", "\(done.text)")
            #expect((done.json["lines"] as? [[String: Any]])?.last?["missing"] as? Bool == true)
            #expect(try await stock() == 18)
        }
    }

    @Test func aCustomerCannotHoldAWholeShelf() async throws {
        try await LiveNode.with(foodmesh: true) { node in
            let ada = try GatewayTests.key(node, "ada"), mallory = try GatewayTests.key(node, "mallory"), carl = try GatewayTests.key(node, "carl")
            let (store, _) = try await Self.setUp(node, manager: ada, stock: 100)
            // Five live quotes at one store, then no more: the rest of the stock stays for others.
            for _ in 0..<5 { #expect(try await Self.quote(node, store, 10, as: mallory).status == 201) }
            let sixth = try await Self.quote(node, store, 10, as: mallory)
            #expect(sixth.status == 409 && sixth.errorCode == "too_many_quotes", "\(sixth.text)")
            #expect(try await Self.product(node, store)["available"] as? Int == 50)
            #expect(try await Self.quote(node, store, 50, as: carl).status == 201)
        }
    }
}
