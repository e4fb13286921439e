import Foundation
import SynGateway
import SynSodium
import Testing

/// Discovery: keywords, filters, ranges and distance, with the score explained.
@Suite struct HomeServicesSearchTests {
    typealias H = HomeServicesTests

    static func space(_ name: String, _ trade: String, _ description: String, _ city: String, _ lat: Double, _ lon: Double) -> String {
        #"{"name":"\#(name)","trade":"\#(trade)","description":"\#(description)","location":{"city":"\#(city)","lat":\#(lat),"lon":\#(lon)},"service_area_km":20,"terms":"","cancellation":{"free_until_hours":24,"fee_percent":0},"time_zone":"Europe/Paris"}"#
    }

    @Test func keywordsFiltersRangesAndDistance() async throws {
        let node = try await LiveNode.start()
        defer { Task { await node.stop() } }
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
