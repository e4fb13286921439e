import Foundation
import SynSodium
import SynTestSupport
import Testing

/// HomeServices in the middle of its life on a node, for the tests that move it: installed from its package, a
/// provider's space, one order done and reviewed (a signed receipt) and one confirmed and still open.
struct HomeServicesLife {
    let home: PackageInstallTests.Home
    let space: String
    let open: String
    let receipt: [String: Any]

    /// `syneroym call homeservices` on the node holding `data`, signed by `key` from `home`'s keyring (or unsigned),
    /// as JSON.
    static func call(_ home: PackageInstallTests.Home, _ data: String, _ method: String, _ body: String, as key: String? = "default") throws -> [String: Any] {
        let signing = key.map { ["--as", $0] } ?? ["--anonymous"]
        let r = try home.run(["call", "homeservices", method, body, "--data", data] + signing)
        guard r.status == 0, let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("\(method): \(r.stdout) \(r.stderr)")
        }
        return object
    }

    func call(_ data: String, _ method: String, _ body: String, as key: String? = "default") throws -> [String: Any] {
        try Self.call(home, data, method, body, as: key)
    }

    /// Packs HomeServices, installs it on `home`'s running node, and lives a little.
    init(_ home: PackageInstallTests.Home) throws {
        self.home = home
        _ = try home.run(["keys", "new", "customer"])
        let source = home.root + "/hs"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.root + "/manifests/homeservices.toml", toPath: source + "/homeservices.toml")
        let packed = try home.run(["pack", "--manifest", source + "/homeservices.toml", "--key", "dev", "--output", home.root + "/hs.synapp"])
        guard packed.status == 0 else { throw TestFailure("pack: \(packed.stderr)") }
        let installed = try home.run(["apps", "install", home.root + "/hs.synapp", "--grant-requested", "--data", home.data])
        guard installed.status == 0 else { throw TestFailure("install: \(installed.stderr)") }
        func call(_ method: String, _ body: String, as key: String? = "default") throws -> [String: Any] {
            try Self.call(home, home.data, method, body, as: key)
        }
        guard let space = try call("spaces.create", #"{"name":"Ada Plumbing","trade":"plumbing","description":"Leaks","location":{"city":"Lyon","lat":45.76,"lon":4.84},"service_area_km":20,"terms":"Pay on completion","cancellation":{"free_until_hours":24,"fee_percent":30},"time_zone":"Europe/Paris"}"#)["id"] as? String else {
            throw TestFailure("no space")
        }
        _ = try call("catalog.upsert", #"{"space_id":"\#(space)","id":"leak","title":"Leak repair","description":"","kind":"slot","duration_minutes":60,"price":{"model":"fixed","amount":8500,"currency":"EUR"}}"#)
        let week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { #"{"day":"\#($0)","start":"08:00","end":"18:00"}"# }.joined(separator: ",")
        _ = try call("availability.set", #"{"space_id":"\#(space)","rules":{"weekly":[\#(week)],"min_notice_minutes":60,"request_expiry_minutes":120}}"#)
        let day = ISO8601DateFormatter.string(from: Date().addingTimeInterval(3 * 86_400), timeZone: TimeZone(identifier: "UTC") ?? .current, formatOptions: [.withFullDate])
        guard let slots = try call("slots.list", #"{"space_id":"\#(space)","item_id":"leak","from":"\#(day)","days":1}"#, as: nil)["slots"] as? [[String: Any]],
              slots.count >= 2 else { throw TestFailure("fewer than two slots") }
        func book(_ slot: [String: Any]) throws -> String {
            guard let order = try call("bookings.request", #"{"space_id":"\#(space)","item_id":"leak","start_ms":\#(slot["start_ms"] ?? 0),"note":"Sink"}"#, as: "customer")["id"] as? String else {
                throw TestFailure("no order")
            }
            _ = try call("orders.transition", #"{"order_id":"\#(order)","transition":"confirm"}"#)
            return order
        }
        // One order done and reviewed (a signed receipt); another confirmed and still open.
        let done = try book(slots[0])
        open = try book(slots[1])
        for step in ["start", "complete"] { _ = try call("orders.transition", #"{"order_id":"\#(done)","transition":"\#(step)"}"#) }
        _ = try call("reviews.create", #"{"order_id":"\#(done)","rating":5,"text":"Fixed fast."}"#, as: "customer")
        _ = try call("reviews.create", #"{"order_id":"\#(done)","rating":4,"text":"Clear."}"#)
        guard let reviews = try call("reviews.list", #"{"id":"\#(space)"}"#, as: nil)["reviews"] as? [[String: Any]], reviews.count == 1,
              let receipt = reviews.first else { throw TestFailure("no published review") }
        self.space = space
        self.receipt = receipt
    }

    /// On the node holding `data` now: the receipt signed before the move is there and verifies against the key it
    /// serves, and the open order is completed and reviewed, its receipt signed by the same key.
    func continues(on data: String) throws {
        let after = try #require(try call(data, "reviews.list", #"{"id":"\#(space)"}"#, as: nil)["reviews"] as? [[String: Any]])
        #expect(after.count == 1)
        let moved = try #require(after.first)
        #expect(moved["app_key"] as? String == receipt["app_key"] as? String)
        #expect(Self.verifies(moved))
        for step in ["start", "complete"] {
            let order = try call(data, "orders.transition", #"{"order_id":"\#(open)","transition":"\#(step)"}"#)
            #expect(order["state"] as? String == (step == "start" ? "in_progress" : "completed"), "\(order)")
        }
        _ = try call(data, "reviews.create", #"{"order_id":"\#(open)","rating":4,"text":"Good."}"#, as: "customer")
        _ = try call(data, "reviews.create", #"{"order_id":"\#(open)","rating":5,"text":"Kind."}"#)
        let both = try #require(try call(data, "reviews.list", #"{"id":"\#(space)"}"#, as: nil)["reviews"] as? [[String: Any]])
        #expect(both.count == 2)
        for r in both {
            #expect(Self.verifies(r))
            #expect(r["app_key"] as? String == receipt["app_key"] as? String)
        }
    }

    static func verifies(_ r: [String: Any]) -> Bool {
        Ed25519.verify(publicKey: Hex.decode(r["app_key"] as? String ?? "") ?? [], domain: .app("homeservices"),
                       message: Base64.decode(r["signed_json"] as? String ?? "") ?? [],
                       signature: Hex.decode(r["signature"] as? String ?? "") ?? [])
    }
}
