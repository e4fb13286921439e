import Foundation
import SynGateway
import SynRuntime
import SynSodium
import Testing

/// HomeServices through the real gateway with signed requests from provider and consumer keys.
@Suite struct HomeServicesTests {
    static let space = #"""
        {"name":"Ada's Plumbing","trade":"plumbing","description":"Leaks, boilers, bathrooms.",
         "location":{"city":"Lyon","lat":45.76,"lon":4.84},"service_area_km":25,
         "branding":{"primary_color":"#1a73e8","tagline":"Dry by tonight"},"terms":"Pay on completion.",
         "cancellation":{"free_until_hours":24,"fee_percent":30},"time_zone":"Europe/Paris"}
        """#

    static func call(_ node: LiveNode, _ method: String, _ body: String, as key: SigningKey?) async throws -> LiveNode.Reply {
        try await node.request("POST", "/v1/apps/homeservices/\(method)", body: body, sign: key)
    }

    @Test func spacesAndCatalogEndToEnd() async throws {
        try await LiveNode.with { node in
            #expect(node.runtime.app("homeservices")?.state == "running", "\(String(describing: node.runtime.app("homeservices")))")
            let ada = try GatewayTests.key(node, "ada"), ben = try GatewayTests.key(node, "ben"), carol = try GatewayTests.key(node, "carol")

            let created = try await Self.call(node, "spaces.create", Self.space, as: ada)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["managers"] as? [String] == [Base64URL.encode(ada.publicKey)])
            #expect((created.json["location"] as? [String: Any])?["city"] as? String == "Lyon")
            #expect((created.json["cancellation"] as? [String: Any])?["fee_percent"] as? Int == 30)
            #expect(created.json["review_window_days"] as? Int == 14)

            // Anyone reads it, unsigned; only managers change it.
            let read = try await Self.call(node, "spaces.get", #"{"id":"\#(id)"}"#, as: nil)
            #expect(read.status == 200 && read.json["name"] as? String == "Ada's Plumbing")
            let intruder = try await Self.call(node, "spaces.update", #"{"id":"\#(id)","name":"Mine now"}"#, as: ben)
            #expect(intruder.status == 403, "\(intruder.text)")
            let renamed = try await Self.call(node, "spaces.update", #"{"id":"\#(id)","name":"Ada & Ben Plumbing"}"#, as: ada)
            #expect(renamed.json["name"] as? String == "Ada & Ben Plumbing" && renamed.json["trade"] as? String == "plumbing")

            // Managers: add Ben, who may then manage; the last manager cannot be removed.
            let benID = Base64URL.encode(ben.publicKey)
            #expect(try await Self.call(node, "spaces.managers.add", #"{"space_id":"\#(id)","manager":"\#(benID)"}"#, as: carol).status == 403)
            let added = try await Self.call(node, "spaces.managers.add", #"{"space_id":"\#(id)","manager":"\#(benID)"}"#, as: ada)
            #expect((added.json["managers"] as? [String])?.count == 2)
            #expect(try await Self.call(node, "spaces.managers.add", #"{"space_id":"\#(id)","manager":"\#(benID)"}"#, as: ada).status == 409)
            let adaID = Base64URL.encode(ada.publicKey)
            #expect(try await Self.call(node, "spaces.managers.remove", #"{"space_id":"\#(id)","manager":"\#(adaID)"}"#, as: ben).status == 200)
            let last = try await Self.call(node, "spaces.managers.remove", #"{"space_id":"\#(id)","manager":"\#(benID)"}"#, as: ben)
            #expect(last.status == 409 && last.text.contains("at least one manager"))

            // Catalog: a manager adds items; anyone lists them; the Space's policy is the default.
            let item = #"{"space_id":"\#(id)","title":"Leak repair","description":"Up to 1 h","kind":"slot","duration_minutes":60,"price":{"model":"fixed","amount":8500,"currency":"EUR"}}"#
            #expect(try await Self.call(node, "catalog.upsert", item, as: ada).status == 403)
            let upserted = try await Self.call(node, "catalog.upsert", item, as: ben)
            #expect(upserted.status == 200, "\(upserted.text)")
            let itemID = try #require(upserted.json["id"] as? String)
            #expect((upserted.json["cancellation"] as? [String: Any])?["free_until_hours"] as? Int == 24)
            let quote = #"{"space_id":"\#(id)","id":"bathroom","title":"Bathroom refit","description":"","kind":"job","duration_minutes":480,"price":{"model":"quote","currency":"EUR"},"cancellation":{"free_until_hours":72,"fee_percent":10}}"#
            #expect(try await Self.call(node, "catalog.upsert", quote, as: ben).status == 200)
            let list = try await Self.call(node, "catalog.list", #"{"id":"\#(id)"}"#, as: nil)
            let items = try #require(list.json["items"] as? [[String: Any]])
            #expect(items.map { $0["title"] as? String } == ["Bathroom refit", "Leak repair"])
            #expect(try await Self.call(node, "catalog.remove", #"{"space_id":"\#(id)","id":"\#(itemID)"}"#, as: carol).status == 403)
            #expect(try await Self.call(node, "catalog.remove", #"{"space_id":"\#(id)","id":"\#(itemID)"}"#, as: ben).status == 200)
            #expect(try await Self.call(node, "catalog.remove", #"{"space_id":"\#(id)","id":"\#(itemID)"}"#, as: ben).status == 404)
            // Not public: unsigned writes are refused at the gateway.
            #expect(try await Self.call(node, "spaces.create", Self.space, as: nil).status == 401)
        }
    }

    @Test(arguments: [
        (#""name":"","#, "name must not be empty"),
        (#""trade":"Plumbing!","#, "trade must be lowercase"),
        (#""location":{"city":"Lyon","lat":95,"lon":4.84},"#, "location.lat must be between -90 and 90"),
        (#""service_area_km":-3,"#, "service_area_km must be above 0"),
        (#""cancellation":{"free_until_hours":24,"fee_percent":130},"#, "cancellation.fee_percent must be 0 to 100"),
        (#""time_zone":"../../etc/passwd","#, "time_zone must be an IANA zone name"),
        (#""branding":{"primary_color":"blue"},"#, "branding.primary_color must be #rrggbb"),
        (#""service_area_km":"far","#, #"field \"service_area_km\": expected a number"#),
        (#""time_zone":"Mars/Olympus","#, "unknown time zone"),
        (#""review_window_days":0,"#, "review_window_days must be 1 to 90"),
    ])
    func badSpaceInputIs400WithTheField(_ override: String, _ message: String) async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada")
            // The field under test is taken out of the valid document and put back with the bad value.
            let key = String(override.dropFirst().prefix { $0 != "\"" })
            var object = try #require(try JSONSerialization.jsonObject(with: Data(Self.space.utf8)) as? [String: Any])
            object.removeValue(forKey: key)
            let base = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            let body = "{" + override + base.dropFirst()
            let r = try await Self.call(node, "spaces.create", body, as: ada)
            #expect(r.status == 400 && r.text.contains(message), "\(body) → \(r.status) \(r.text)")
        }
    }

    @Test func badCatalogInputIs400() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada")
            let id = try #require(try await Self.call(node, "spaces.create", Self.space, as: ada).json["id"] as? String)
            for (price, message) in [
                (#"{"model":"fixed","amount":-5,"currency":"EUR"}"#, "price.amount must be 0"),
                (#"{"model":"fixed","currency":"EUR"}"#, "price.amount is required"),
                (#"{"model":"quote","amount":100,"currency":"EUR"}"#, "price.amount must be absent for a quote"),
                (#"{"model":"barter","amount":1,"currency":"EUR"}"#, "price.model must be"),
                (#"{"model":"fixed","amount":1,"currency":"euro"}"#, "price.currency must be an ISO 4217 code"),
            ] {
                let body = #"{"space_id":"\#(id)","title":"x","description":"","kind":"slot","duration_minutes":60,"price":\#(price)}"#
                let r = try await Self.call(node, "catalog.upsert", body, as: ada)
                #expect(r.status == 400 && r.text.contains(message), "\(price) → \(r.text)")
            }
            let noSpace = try await Self.call(node, "catalog.list", #"{"id":"nope"}"#, as: nil)
            #expect(noSpace.status == 404)
        }
    }
}
