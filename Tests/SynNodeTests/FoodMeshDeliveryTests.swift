import Foundation
import SynSodium
import SynTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A FoodMesh delivery composed across two real nodes with no platform between them: a bakery's store on node A,
/// a courier's Space on node B, each its own `syneroym run` with its own data directory, linked over loopback.
@Suite(.serialized) struct FoodMeshDeliveryTests {
    /// The keys: ada runs the bakery on A, bob rides for B, carl orders.
    static let home: [String: String] = {
        let env = ["XDG_CONFIG_HOME": TestSupport.scratch + "/foodmesh-keys-\(UInt32.random(in: 0...UInt32.max))"]
        for name in ["default", "ada", "bob", "carl"] { _ = try? CLI.syneroym(["keys", "new", name], environment: env) }
        return env
    }()

    static func node(_ label: String, listen: String? = nil, federation: String = "") throws -> LinkedNode {
        try LinkedNode(label, app: "foodmesh", home: home, listen: listen, federation: federation)
    }

    static func run(_ node: LinkedNode, netns: String? = nil) throws -> ProcessNode { try node.run(netns: netns) }

    /// A signed call through the CLI, as a person would make it; the decoded answer (or the error) and the exit status.
    static func call(_ data: String, _ method: String, _ body: String, as key: String, netns: String? = nil)
        throws -> (status: Int32, json: [String: Any], text: String)
    {
        let r = try CLI.syneroym(["call", "foodmesh", method, body, "--as", key, "--data", data], environment: home, netns: netns)
        let json = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
        return (r.status, json, r.stdout + r.stderr)
    }

    /// Calls until `check` holds (bounded: a stuck delivery fails the test instead of hanging it).
    static func poll(_ data: String, _ method: String, _ body: String, as key: String, netns: String? = nil,
                     until check: ([String: Any]) -> Bool) throws -> [String: Any] {
        var last: [String: Any] = [:]
        for _ in 0..<600 {
            last = try call(data, method, body, as: key, netns: netns).json
            if check(last) { return last }
            usleep(100_000)
        }
        return last
    }

    /// The bakery on A (delivering within 3 km for 400), bob's courier Space on B (5 km around for 350), and carl's
    /// order of two loaves for delivery, paid on delivery, which ada has accepted: the store's, the courier
    /// Space's and the order's ids.
    static func acceptedOrder(a: String, b: String, netns: (a: String, b: String)? = nil) throws -> (store: String, courier: String, order: String) {
        let store = try call(a, "stores.create", #"""
            {"name":"Rye & Co","kind":"bakery","description":"","location":{"city":"Lyon","lat":45.76,"lon":4.84},"time_zone":"Europe/Paris",
             "currency":"EUR","terms":"","hours":[\#(everyDay())],"delivery_zones":[{"name":"centre","radius_km":3,"fee":400,"min_order":1000}],
             "offer_minutes":5}
            """#, as: "ada", netns: netns?.a)
        let storeID = try #require(store.json["id"] as? String, "\(store.text)")
        #expect(try call(a, "products.upsert", #"{"store_id":"\#(storeID)","id":"rye-loaf","title":"Rye loaf","description":"","unit":"loaf","price":550,"stock":10}"#, as: "ada", netns: netns?.a).status == 0)
        let courier = try call(b, "stores.create", #"""
            {"name":"Bob rides","kind":"courier","description":"Cargo bike","location":{"city":"Lyon","lat":45.765,"lon":4.835},"time_zone":"Europe/Paris",
             "currency":"EUR","terms":"","hours":[\#(everyDay())],"delivery_zones":[{"name":"city","radius_km":5,"fee":350,"min_order":0}]}
            """#, as: "bob", netns: netns?.b)
        let courierID = try #require(courier.json["id"] as? String, "\(courier.text)")
        let quote = try call(a, "orders.quote", #"""
            {"store_id":"\#(storeID)","items":[{"product_id":"rye-loaf","quantity":2}],
             "fulfilment":{"type":"delivery","address":"1 place Bellecour","point":{"lat":45.757,"lon":4.832}}}
            """#, as: "carl", netns: netns?.a)
        let quoteID = try #require(quote.json["id"] as? String, "\(quote.text)")
        let placed = try call(a, "orders.place", #"{"quote_id":"\#(quoteID)","payment_method":"pay_on_delivery"}"#, as: "carl", netns: netns?.a)
        let order = try #require(placed.json["id"] as? String, "\(placed.text)")
        #expect(try call(a, "orders.transition", #"{"order_id":"\#(order)","transition":"accept"}"#, as: "ada", netns: netns?.a).status == 0)
        return (storeID, courierID, order)
    }

    static func everyDay() -> String {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { #"{"day":"\#($0)","start":"00:00","end":"24:00"}"# }.joined(separator: ",")
    }

    @Test func aStoreOnOneNodeAndACourierOnAnother() async throws {
        try await offThePool {
            let a = try Self.node("food-a"), b = try Self.node("food-b")
            let idB = String(b.invite.prefix { $0 != "@" })
            #expect(try CLI.syneroym(["peers", "add", b.invite, "--name", "courier", "--data", a.data]).status == 0)
            #expect(try CLI.syneroym(["peers", "add", a.invite, "--name", "bakery", "--data", b.data]).status == 0)
            var nodeA = try Self.run(a), nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }

            let (storeID, courierID, order) = try Self.acceptedOrder(a: a.data, b: b.data)

            // The offer goes first to a node A is not linked with (refused at once), then to a courier Space that B does
            // not have (B's FoodMesh declines it), and then to bob. B is killed meanwhile and restarted: the offers wait
            // in A's outbox.
            let stranger = Base64URL.encode(try SigningKey.generate().publicKey)
            nodeB.process.signal(SIGKILL)
            _ = nodeB.process.wait()
            let offered = try Self.call(a.data, "deliveries.offer", #"""
                {"order_id":"\#(order)","couriers":[{"node":"\#(stranger)","space_id":"x"},{"node":"\#(idB)","space_id":"nope"},{"node":"\#(idB)","space_id":"\#(courierID)"}]}
                """#, as: "ada")
            #expect(offered.json["state"] as? String == "offered", "\(offered.text)")
            nodeB = try Self.run(b)
            let jobs = try Self.poll(b.data, "jobs.list", #"{"space_id":"\#(courierID)"}"#, as: "bob") { ($0["jobs"] as? [[String: Any]])?.isEmpty == false }
            let job = try #require((jobs["jobs"] as? [[String: Any]])?.first, "\(jobs)")
            let jobID = try #require(job["id"] as? String)
            #expect(job["state"] as? String == "offered" && job["fee"] as? Int == 400 && job["order_id"] as? String == order, "\(job)")
            let history = try Self.call(a.data, "deliveries.list", #"{"order_id":"\#(order)"}"#, as: "ada").json
            let attempts = (history["deliveries"] as? [[String: Any]]) ?? []
            #expect(attempts.count == 1 && attempts.first?["attempt"] as? Int == 3, "\(history)")

            // bob accepts; A's record follows. Then B restarts once more before the pickup.
            #expect(try Self.call(b.data, "jobs.transition", #"{"job_id":"\#(jobID)","transition":"accept"}"#, as: "bob").status == 0)
            var view = try Self.poll(a.data, "orders.get", #"{"order_id":"\#(order)"}"#, as: "carl") {
                ($0["delivery"] as? [String: Any])?["state"] as? String == "accepted"
            }
            #expect((view["delivery"] as? [String: Any])?["courier_node"] as? String == idB, "\(view)")
            nodeB.stop()
            nodeB = try Self.run(b)
            #expect(try Self.call(b.data, "jobs.transition", #"{"job_id":"\#(jobID)","transition":"pick_up"}"#, as: "bob").status == 0)
            view = try Self.poll(a.data, "orders.get", #"{"order_id":"\#(order)"}"#, as: "carl") { $0["state"] as? String == "out_for_delivery" }
            #expect(view["state"] as? String == "out_for_delivery", "\(view)")
            #expect(try Self.call(b.data, "jobs.transition", #"{"job_id":"\#(jobID)","transition":"deliver"}"#, as: "bob").status == 0)
            view = try Self.poll(a.data, "orders.get", #"{"order_id":"\#(order)"}"#, as: "carl") { $0["state"] as? String == "delivered" }
            let money = view["payments"] as? [String: Any] ?? [:]
            let captured = money["captured"] as? Int
            #expect(view["state"] as? String == "delivered", "\(view)")
            #expect(captured == 1500, "\(money)")
            // The order's history names the courier's node as the one who moved it.
            let history2 = view["history"] as? [[String: Any]] ?? []
            let steps: [String] = history2.filter { ($0["actor"] as? String) == idB }.compactMap { $0["transition"] as? String }
            #expect(steps == ["prepare", "ready", "dispatch", "deliver"], "\(steps)")

            // Both nodes end in the same state.
            #expect((view["delivery"] as? [String: Any])?["state"] as? String == "delivered")
            #expect(try Self.call(b.data, "jobs.get", #"{"job_id":"\#(jobID)"}"#, as: "bob").json["state"] as? String == "delivered")

            // carl completes and reviews; the receipt verifies with the app's key alone.
            #expect(try Self.call(a.data, "orders.transition", #"{"order_id":"\#(order)","transition":"complete"}"#, as: "carl").status == 0)
            #expect(try Self.call(a.data, "reviews.create", #"{"order_id":"\#(order)","rating":5,"text":"Still warm"}"#, as: "carl").status == 0)
            #expect(try Self.call(a.data, "reviews.create", #"{"order_id":"\#(order)","rating":5,"text":"Kind"}"#, as: "ada").status == 0)
            let reviews = try CLI.syneroym(["call", "foodmesh", "reviews.list", #"{"id":"\#(storeID)"}"#, "--anonymous", "--data", a.data], environment: Self.home)
            let listed = (try JSONSerialization.jsonObject(with: Data(reviews.stdout.utf8)) as? [String: Any]) ?? [:]
            let review = try #require((listed["reviews"] as? [[String: Any]])?.first, "\(reviews.stdout) \(reviews.stderr)")
            let signed = try #require(Data(base64Encoded: review["signed_json"] as? String ?? ""))
            #expect(Ed25519.verify(publicKey: try #require(Hex.decode(review["app_key"] as? String ?? "")), domain: .app("foodmesh"),
                                   message: Array(signed), signature: try #require(Hex.decode(review["signature"] as? String ?? ""))))
        }
    }

    /// The store on A and the courier on B in network namespaces of their own, joined by a veth pair the test makes.
    /// The link is cut while the courier picks the order up and delivers it; B's news waits in B's outbox, and once
    /// the link heals both nodes show the same state. Needs root; where CI runs as root (`SYN_REQUIRE_NETNS=1`), a
    /// missing namespace is a failure.
    @Test func bothNodesAgreeAfterAPartitionHeals() async throws {
        try await offThePool {
            if let why = NetworkNamespace.unavailable {
                #expect(ProcessInfo.processInfo.environment["SYN_REQUIRE_NETNS"] != "1", "SYN_REQUIRE_NETNS=1 but \(why)")
                return
            }
            let namespaces = try NetworkNamespace()
            defer { namespaces.remove() }
            let a = try Self.node("food-ns-a", listen: "\(namespaces.addressA):7421", federation: "ping_s = 1\n")
            let b = try Self.node("food-ns-b", listen: "\(namespaces.addressB):7421", federation: "ping_s = 1\n")
            let idB = String(b.invite.prefix { $0 != "@" })
            #expect(try CLI.syneroym(["peers", "add", b.invite, "--name", "courier", "--data", a.data]).status == 0)
            #expect(try CLI.syneroym(["peers", "add", a.invite, "--name", "bakery", "--data", b.data]).status == 0)
            let (nsA, nsB) = (namespaces.a, namespaces.b)
            let nodeA = try Self.run(a, netns: nsA), nodeB = try Self.run(b, netns: nsB)
            defer { nodeA.stop(); nodeB.stop() }
            #expect(nodeA.waitFor("event=link.up peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(2000))")

            let (_, courierID, order) = try Self.acceptedOrder(a: a.data, b: b.data, netns: (nsA, nsB))
            #expect(try Self.call(a.data, "deliveries.offer", #"{"order_id":"\#(order)","couriers":[{"node":"\#(idB)","space_id":"\#(courierID)"}]}"#, as: "ada", netns: nsA).status == 0)
            let jobs = try Self.poll(b.data, "jobs.list", #"{"space_id":"\#(courierID)"}"#, as: "bob", netns: nsB) { ($0["jobs"] as? [[String: Any]])?.isEmpty == false }
            let jobID = try #require((jobs["jobs"] as? [[String: Any]])?.first?["id"] as? String, "\(jobs)")
            #expect(try Self.call(b.data, "jobs.transition", #"{"job_id":"\#(jobID)","transition":"accept"}"#, as: "bob", netns: nsB).status == 0)
            _ = try Self.poll(a.data, "orders.get", #"{"order_id":"\#(order)"}"#, as: "carl", netns: nsA) { ($0["delivery"] as? [String: Any])?["state"] as? String == "accepted" }

            // The partition: the veth goes down. On B the courier picks up and delivers; A hears nothing of it.
            try namespaces.link(up: false)
            for step in ["pick_up", "deliver"] {
                #expect(try Self.call(b.data, "jobs.transition", #"{"job_id":"\#(jobID)","transition":"\#(step)"}"#, as: "bob", netns: nsB).status == 0)
            }
            #expect(nodeA.waitFor("event=link.down peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(2000))")
            let during = try Self.call(a.data, "orders.get", #"{"order_id":"\#(order)"}"#, as: "carl", netns: nsA).json
            #expect(during["state"] as? String == "accepted" && (during["delivery"] as? [String: Any])?["state"] as? String == "accepted", "\(during)")

            // Healed: B's news arrives once and in order, and both nodes show the delivery delivered.
            try namespaces.link(up: true)
            let after = try Self.poll(a.data, "orders.get", #"{"order_id":"\#(order)"}"#, as: "carl", netns: nsA) { $0["state"] as? String == "delivered" }
            #expect(after["state"] as? String == "delivered", "\(after)\nA: \(nodeA.log.suffix(2000))")
            #expect((after["delivery"] as? [String: Any])?["state"] as? String == "delivered")
            #expect((after["payments"] as? [String: Any])?["captured"] as? Int == 1500, "\(after)")
            #expect(try Self.call(b.data, "jobs.get", #"{"job_id":"\#(jobID)"}"#, as: "bob", netns: nsB).json["state"] as? String == "delivered")
        }
    }
}
