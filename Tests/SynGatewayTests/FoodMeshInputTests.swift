import Foundation
import SynGateway
import SynRuntime
import SynSodium
import Testing

/// FoodMesh's inputs and callers: every field of every method checked for shape (400 `bad_input` naming it),
/// every rule answered with 400 naming the field, and every method tried by the wrong caller.
@Suite struct FoodMeshInputTests {
    typealias F = FoodMeshTests
    typealias I = HomeServicesInputTests

    /// Every method, a valid document, and its required fields.
    static let methods: [(method: String, body: String, required: [String])] = [
        ("stores.create", F.store, ["name", "kind", "description", "location", "location.city", "location.lat", "location.lon", "time_zone",
                                    "currency", "terms", "hours", "hours[0].day", "hours[0].start", "hours[0].end",
                                    "delivery_zones[0].name", "delivery_zones[0].fee", "delivery_zones[0].min_order",
                                    "policy.cancel_fee_percent", "policy.uncollected"]),
        ("stores.update", #"{"id":"s1","name":"N","hours":[{"day":"mon","start":"09:00","end":"12:00"}]}"#, ["id", "hours[0].day"]),
        ("stores.get", #"{"id":"s1"}"#, ["id"]),
        ("stores.managers.add", #"{"space_id":"s1","manager":"m"}"#, ["space_id", "manager"]),
        ("stores.managers.remove", #"{"space_id":"s1","manager":"m"}"#, ["space_id", "manager"]),
        ("products.upsert", #"{"store_id":"s1","id":"p1","title":"T","description":"D","unit":"box","price":100,"tags":["t"],"attributes":{"vegetarian":true,"allergens":["egg"]},"stock":3,"available_from":"11:30","available_until":"14:00","sell_by_ms":1900000000000}"#,
         ["store_id", "title", "description", "unit", "price"]),
        ("products.remove", #"{"store_id":"s1","id":"p1"}"#, ["store_id", "id"]),
        ("products.list", #"{"store_id":"s1"}"#, ["store_id"]),
        ("stock.set", #"{"store_id":"s1","product_id":"p1","stock":3}"#, ["store_id", "product_id"]),
        ("stock.adjust", #"{"store_id":"s1","product_id":"p1","delta":-1}"#, ["store_id", "product_id", "delta"]),
        ("orders.quote", #"{"store_id":"s1","items":[{"product_id":"p1","quantity":1}],"fulfilment":{"type":"delivery","address":"a","postcode":"69001","point":{"lat":1,"lon":2}}}"#,
         ["store_id", "items", "items[0].product_id", "items[0].quantity", "fulfilment", "fulfilment.type", "fulfilment.point.lat", "fulfilment.point.lon"]),
        ("orders.place", #"{"quote_id":"q1","payment_method":"cash_on_pickup"}"#, ["quote_id", "payment_method"]),
        ("quotes.get", #"{"quote_id":"q1"}"#, ["quote_id"]),
        ("orders.get", #"{"order_id":"o1"}"#, ["order_id"]),
        ("orders.list", #"{"role":"store","store_id":"s1","state":"placed"}"#, ["role"]),
        ("orders.transition", #"{"order_id":"o1","transition":"accept"}"#, ["order_id", "transition"]),
        ("orders.reject", #"{"order_id":"o1","reason_id":"closed","note":"n"}"#, ["order_id", "reason_id"]),
        ("orders.cancel_preview", #"{"order_id":"o1"}"#, ["order_id"]),
        ("orders.item_missing", #"{"order_id":"o1","product_id":"p1"}"#, ["order_id", "product_id"]),
        ("payments.record", #"{"order_id":"o1","step":"captured","amount":5,"note":"n"}"#, ["order_id", "step"]),
        ("search", #"{"q":"rye","kind":"bakery","tags":["t"],"vegetarian":true,"open_now":true,"in_stock":true,"price_min":1,"price_max":2,"near":{"lat":1,"lon":2,"km":3},"limit":5}"#,
         ["near.lat", "near.lon", "near.km"]),
        ("reviews.create", #"{"order_id":"o1","rating":5,"text":"t"}"#, ["order_id", "rating", "text"]),
        ("reviews.list", #"{"id":"s1"}"#, ["id"]),
        ("vouch", #"{"space_id":"s1","text":"t"}"#, ["space_id"]),
        ("reputation.get", #"{"id":"s1"}"#, ["id"]),
    ]

    @Test func everyFieldOfEveryMethodIsChecked() async throws {
        try await LiveNode.with(foodmesh: true) { node in
            let ada = try GatewayTests.key(node, "ada")
            var checked = 0
            func expect400(_ method: String, _ body: String, _ message: String) async throws {
                let r = try await F.call(node, method, body, as: ada)
                let error = r.json["error"] as? [String: Any]
                #expect(r.status == 400 && error?["code"] as? String == "bad_input" && (error?["message"] as? String)?.contains(message) == true,
                        "\(method) \(body) → \(r.status) \(r.text), wanted: \(message)")
                checked += 1
            }
            for (method, body, required) in Self.methods {
                let document = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)))
                let all = I.paths(document)
                #expect(Set(required).isSubset(of: Set(all)), "\(method): the table names a field its document lacks")
                for path in all {
                    let steps = I.steps(path)
                    try await expect400(method, try I.json(I.editing(document, steps) { I.wrongType($0) }), "field \"\(path)\": expected")
                    guard required.contains(path), case .key = steps.last else { continue }
                    try await expect400(method, try I.json(I.editing(document, steps) { _ in nil }), "field \"\(path)\" is required")
                }
            }
            #expect(checked > 150)
        }
    }

    @Test func everyRuleAnswers400NamingTheField() async throws {
        try await LiveNode.with(foodmesh: true) { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl")
            let (store, _) = try await F.setUp(node, manager: ada, stock: 10)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            func storeWith(_ change: (inout [String: Any]) -> Void) throws -> String {
                var document = try #require(try JSONSerialization.jsonObject(with: Data(F.store.utf8)) as? [String: Any])
                change(&document)
                return try I.json(document)
            }
            func product(_ fields: [String: Any]) throws -> String {
                var document: [String: Any] = ["store_id": store, "title": "Box", "description": "", "unit": "box", "price": 900, "stock": 5]
                document.merge(fields) { $1 }
                return try I.json(document)
            }
            func quote(_ items: String, _ fulfilment: String = F.pickup()) -> String {
                #"{"store_id":"\#(store)","items":\#(items),"fulfilment":\#(fulfilment)}"#
            }
            let cases: [(method: String, body: String, as: SigningKey, field: String)] = [
                ("stores.create", try storeWith { $0["kind"] = "spaceship" }, ada, "kind must be one of"),
                ("stores.create", try storeWith { $0["currency"] = "euro" }, ada, "currency must be an ISO 4217 code"),
                ("stores.create", try storeWith { $0["time_zone"] = "Mars/Olympus" }, ada, "time_zone"),
                ("stores.create", try storeWith { $0["hours"] = [["day": "mon", "start": "14:00", "end": "11:30"]] }, ada, "hours[0] ends before it starts"),
                ("stores.create", try storeWith { $0["hours"] = [["day": "funday", "start": "09:00", "end": "11:30"]] }, ada, "hours[0].day must be"),
                ("stores.create", try storeWith { $0["pickup_windows"] = [["day": "mon", "start": "9", "end": "11:30"]] }, ada, "pickup_windows[0].start must be a time"),
                ("stores.create", try storeWith { $0["delivery_zones"] = [["name": "z", "fee": 1, "min_order": 1]] }, ada, "delivery_zones[0] needs radius_km or postcodes"),
                ("stores.create", try storeWith { $0["delivery_zones"] = [["name": "z", "radius_km": -2, "fee": 1, "min_order": 1]] }, ada, "delivery_zones[0].radius_km must be above 0"),
                ("stores.create", try storeWith { $0["delivery_zones"] = [["name": "z", "radius_km": 2, "fee": -1, "min_order": 1]] }, ada, "delivery_zones[0].fee must be 0 to"),
                ("stores.create", try storeWith { $0["hold_minutes"] = 0 }, ada, "hold_minutes must be 1 to 120"),
                ("stores.create", try storeWith { $0["policy"] = ["cancel_fee_percent": 150, "uncollected": "charge"] }, ada, "policy.cancel_fee_percent must be 0 to 100"),
                ("stores.create", try storeWith { $0["location"] = ["city": "Lyon", "lat": 95, "lon": 4] }, ada, "location.lat must be between -90 and 90"),
                ("products.upsert", try product(["price": -5]), ada, "price must be 0 to"),
                ("products.upsert", try product(["stock": -1]), ada, "stock must be 0 to 1,000,000"),
                ("products.upsert", #"{"store_id":"\#(store)","title":"Box","description":"","unit":"box","price":900}"#, ada, "a new product needs stock (units) or unlimited: true"),
                ("products.upsert", try product(["available_from": "14:00", "available_until": "11:30"]), ada, "available_until (11:30) must be after available_from (14:00)"),
                ("products.upsert", try product(["available_from": "11:30"]), ada, "available_from and available_until go together"),
                ("products.upsert", try product(["tags": ["Gluten Free"]]), ada, "tags[0] must be lowercase words"),
                ("products.upsert", try product(["title": ""]), ada, "title must not be empty"),
                ("stock.set", #"{"store_id":"\#(store)","product_id":"rye-loaf","stock":-3}"#, ada, "stock must be 0 to 1,000,000"),
                ("stock.set", #"{"store_id":"\#(store)","product_id":"rye-loaf"}"#, ada, "give stock (units) or unlimited: true"),
                ("stock.adjust", #"{"store_id":"\#(store)","product_id":"rye-loaf","delta":0}"#, ada, "delta must be a non-zero count"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":-2}]"#), carl, "items[0].quantity must be 1 to 1000"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":0}]"#), carl, "items[0].quantity must be 1 to 1000"),
                ("orders.quote", quote(#"[{"product_id":"caviar","quantity":1}]"#), carl, "items[0].product_id: no product caviar"),
                ("orders.quote", quote(#"[]"#), carl, "items must list 1 to 50 products"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":1},{"product_id":"rye-loaf","quantity":1}]"#), carl, "items names a product twice"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":1}]"#, #"{"type":"pickup","from_ms":\#(now + 7_200_000),"until_ms":\#(now + 3_600_000)}"#), carl,
                 "fulfilment.until_ms is before fulfilment.from_ms"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":1}]"#, #"{"type":"pickup","from_ms":\#(now - 86_400_000),"until_ms":\#(now - 82_800_000)}"#), carl,
                 "fulfilment: a pickup window starts now or later"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":2}]"#, #"{"type":"delivery","address":"9 rue de la Gare","point":{"lat":45.95,"lon":4.84}}"#), carl,
                 "fulfilment.point is outside every delivery zone"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":1}]"#, #"{"type":"delivery","address":"1 place Bellecour","point":{"lat":45.76,"lon":4.84}}"#), carl,
                 "items: delivery to zone centre needs an order of at least 1000"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":1}]"#, #"{"type":"drone"}"#), carl, "fulfilment.type must be pickup or delivery"),
                ("orders.quote", quote(#"[{"product_id":"rye-loaf","quantity":3}]"#, #"{"type":"delivery","address":"2 rue X","postcode":"69004","point":{"lat":45.95,"lon":4.84}}"#), carl,
                 "items: delivery to zone north needs an order of at least 2000"),
                ("orders.place", #"{"quote_id":"q1","payment_method":"iou"}"#, carl, "payment_method must be"),
                ("search", #"{"limit":0}"#, carl, "limit must be 1 to 50"),
                ("search", #"{"price_min":500,"price_max":100}"#, carl, "price_min is above price_max"),
                ("search", #"{"near":{"lat":45,"lon":4,"km":0}}"#, carl, "near.km must be above 0"),
                ("search", #"{"kind":"spaceship"}"#, carl, "kind must be one of"),
            ]
            for c in cases {
                let r = try await F.call(node, c.method, c.body, as: c.as)
                let message = (r.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(r.status == 400 && message.contains(c.field), "\(c.method) \(c.body) → \(r.status) \(r.text), wanted: \(c.field)")
            }
        }
    }

    @Test func everyMethodRefusesTheWrongCaller() async throws {
        try await LiveNode.with(foodmesh: true) { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl"), eve = try GatewayTests.key(node, "eve")
            let (store, _) = try await F.setUp(node, manager: ada, stock: 10)
            let quoted = try await F.quote(node, store, 1, as: carl)
            let quote = try #require(quoted.json["id"] as? String)
            let second = try #require(try await F.quote(node, store, 1, as: carl).json["id"] as? String)
            let order = try #require(try await F.call(node, "orders.place", #"{"quote_id":"\#(second)","payment_method":"cash_on_pickup"}"#, as: carl).json["id"] as? String)
            let eveID = Base64URL.encode(eve.publicKey)
            let cases: [(method: String, body: String, as: SigningKey?, status: Int)] = [
                // A store is its managers'.
                ("stores.update", #"{"id":"\#(store)","name":"Eve's now"}"#, eve, 403),
                ("stores.managers.add", #"{"space_id":"\#(store)","manager":"\#(eveID)"}"#, eve, 403),
                ("stores.managers.remove", #"{"space_id":"\#(store)","manager":"\#(Base64URL.encode(ada.publicKey))"}"#, eve, 403),
                ("products.upsert", #"{"store_id":"\#(store)","title":"Fake","description":"","unit":"box","price":1,"stock":1}"#, eve, 403),
                ("products.remove", #"{"store_id":"\#(store)","id":"rye-loaf"}"#, carl, 403),
                ("stock.set", #"{"store_id":"\#(store)","product_id":"rye-loaf","stock":100}"#, carl, 403),
                ("stock.adjust", #"{"store_id":"\#(store)","product_id":"rye-loaf","delta":100}"#, eve, 403),
                // A quote is its customer's: others learn nothing of it.
                ("orders.place", #"{"quote_id":"\#(quote)","payment_method":"cash_on_pickup"}"#, eve, 404),
                ("quotes.get", #"{"quote_id":"\#(quote)"}"#, ada, 404),
                // An order is its customer's and its store's.
                ("orders.get", #"{"order_id":"\#(order)"}"#, eve, 404),
                ("orders.transition", #"{"order_id":"\#(order)","transition":"accept"}"#, eve, 404),
                ("orders.transition", #"{"order_id":"\#(order)","transition":"accept"}"#, carl, 403),
                ("orders.transition", #"{"order_id":"\#(order)","transition":"cancel"}"#, ada, 403),
                ("orders.transition", #"{"order_id":"\#(order)","transition":"expire"}"#, ada, 403),
                ("orders.reject", #"{"order_id":"\#(order)","reason_id":"closed"}"#, carl, 403),
                ("orders.item_missing", #"{"order_id":"\#(order)","product_id":"rye-loaf"}"#, carl, 403),
                ("orders.cancel_preview", #"{"order_id":"\#(order)"}"#, ada, 403),
                ("payments.record", #"{"order_id":"\#(order)","step":"captured"}"#, carl, 403),
                ("orders.list", #"{"role":"store","store_id":"\#(store)"}"#, carl, 403),
                ("reviews.create", #"{"order_id":"\#(order)","rating":1,"text":"x"}"#, eve, 404),
                ("vouch", #"{"space_id":"\#(store)"}"#, ada, 403),
                // Everything that changes something needs a signed caller.
                ("orders.quote", #"{"store_id":"\#(store)","items":[{"product_id":"rye-loaf","quantity":1}],"fulfilment":\#(F.pickup())}"#, nil, 401),
                ("stores.create", F.store, nil, 401),
            ]
            for c in cases {
                let r = try await F.call(node, c.method, c.body, as: c.as)
                #expect(r.status == c.status, "\(c.method) \(c.body) → \(r.status) \(r.text), wanted \(c.status)")
            }
            // Nothing they tried changed anything.
            let product = try await F.product(node, store)
            #expect(product["stock"] as? Int == 9 && product["held"] as? Int == 1 && product["title"] as? String == "Rye loaf", "\(product)")
            #expect(try await F.call(node, "orders.get", #"{"order_id":"\#(order)"}"#, as: carl).json["state"] as? String == "placed")
        }
    }
}
