import Foundation
import SynBackup
import SynSodium
import SynTestSupport
import Testing

/// `apps export` on one node and `apps import` on another: the app arrives with its database and its identity, and a
/// bundle that was altered, or comes from another node than the one expected, is refused.
@Suite struct ExportImportTests {
    @Test func anAppMovesToAnotherNodeWithItsDataAndIdentity() throws {
        let a = try PackageInstallTests.Home(), b = try PackageInstallTests.Home()
        let key = a.root + "/move.key"
        #expect(try a.run(["backup", "--make-key", key]).status == 0)
        let nodeA = try a.start()
        defer { nodeA.stop() }
        #expect(try a.install(try a.pack("1.0.0", tag: "move"), ["--grant-requested"]).status == 0)
        for note in ["a", "b", "c"] { #expect(try nodeA.call("notes", "put", "\"\(note)\"").status == 200) }

        let bundle = a.root + "/notes.synexport"
        let exported = try a.run(["apps", "export", "notes", "--to", bundle, "--key-file", key, "--data", a.data])
        #expect(exported.status == 0 && exported.stdout.contains("exported notes 1.0.0"), "\(exported.stderr)")
        let nodeID = try #require(exported.stdout.split(separator: "signed by node ").last?.split(separator: ":").first.map(String.init))
        #expect(try a.audit().contains("\tnotes\tapp.export\tok"))
        // A's app goes on serving (moving it away is the owner's next step).
        #expect(try nodeA.call("notes", "count", "").body == "3")

        let nodeB = try b.start()
        defer { nodeB.stop() }
        // Altered in transit by someone holding the key: the exporting node's signature no longer matches.
        let opened = try ArchiveReader.read(path: bundle, key: try BackupKey.load(path: key), into: b.root + "/opened")
        var db = Array(try Data(contentsOf: URL(fileURLWithPath: b.root + "/opened/app.db")))
        db[db.count - 10] ^= 0x01
        try Data(db).write(to: URL(fileURLWithPath: b.root + "/opened/app.db"))
        let forged = b.root + "/forged.synexport"
        let writer = try ArchiveWriter(path: forged, key: try BackupKey.load(path: key), info: opened.info)
        for file in opened.files { try writer.add(b.root + "/opened/" + file.path, as: file.path) }
        _ = try writer.finish()
        let refused = try b.run(["apps", "import", forged, "--key-file", key, "--grant-requested", "--data", b.data])
        #expect(refused.status == 1 && refused.stderr.contains("is not signed by the node it names"), "\(refused.stderr)")
        // From another node than the one the owner expects, or under another key: refused.
        let other = try b.run(["apps", "import", bundle, "--key-file", key, "--from", String(repeating: "A", count: 43), "--data", b.data])
        #expect(other.status == 1 && other.stderr.contains("was exported by node \(nodeID)"), "\(other.stderr)")
        let wrongKey = b.root + "/other.key"
        #expect(try b.run(["backup", "--make-key", wrongKey]).status == 0)
        #expect(try b.run(["apps", "import", bundle, "--key-file", wrongKey, "--data", b.data]).stderr.contains("the key does not open"))
        #expect(!FileManager.default.fileExists(atPath: b.data + "/apps/notes"))

        let imported = try b.run(["apps", "import", bundle, "--key-file", key, "--from", nodeID, "--grant-requested", "--data", b.data])
        #expect(imported.status == 0 && imported.stdout.contains("imported notes 1.0.0 from node \(nodeID)"), "\(imported.stderr)")
        #expect(try nodeB.call("notes", "count", "").body == "3")
        #expect(try nodeB.call("notes", "put", "\"d\"").status == 200)
        // The same identity: what the app signed on A verifies against the key it has on B.
        #expect(try Data(contentsOf: URL(fileURLWithPath: a.data + "/apps/notes/app.key"))
                == Data(contentsOf: URL(fileURLWithPath: b.data + "/apps/notes/app.key")))
        #expect(try b.audit().contains("\tnotes\tapp.import\tok\t1.0.0 from node \(nodeID)"))
        // Its developer key is pinned on B as on A; importing again is refused.
        let versions = try b.run(["apps", "versions", "notes", "--data", b.data])
        #expect(versions.stdout.contains(try a.run(["apps", "versions", "notes", "--data", a.data]).stdout.split(separator: "\n").first.map(String.init) ?? "-"))
        #expect(try b.run(["apps", "import", bundle, "--key-file", key, "--data", b.data]).stderr.contains("has an app 'notes' already"))

        // The owner of A says where it went: A stops serving it and names B to whoever calls, also after a restart.
        let health = try nodeB.request("GET", "/v1/health").body
        let nodeB_ID = try #require((try JSONSerialization.jsonObject(with: Data(health.utf8)) as? [String: Any])?["node"] as? String)
        let moved = try a.run(["apps", "export", "notes", "--to", a.root + "/last.synexport", "--key-file", key, "--moved-to", nodeB_ID, "--data", a.data])
        #expect(moved.status == 0 && moved.stdout.contains("no longer runs here"), "\(moved.stderr)")
        let gone = try nodeA.call("notes", "count", "")
        #expect(gone.status == 410 && gone.body.contains("app_moved") && gone.body.contains(nodeB_ID), "\(gone)")
        #expect(try a.run(["apps", "list", "--data", a.data]).stdout.contains("moved"))
        #expect(try a.audit().contains("\tnotes\tapp.moved\tok\tmoved to node \(nodeB_ID)"))
        nodeA.stop()
        let again = try a.start()
        defer { again.stop() }
        #expect(try again.call("notes", "count", "").status == 410)
    }
}

extension ExportImportTests {
    /// `syneroym call` on the node holding `data`, signed by `key` from `home`'s keyring (or unsigned), as JSON.
    static func call(_ home: PackageInstallTests.Home, _ data: String, _ method: String, _ body: String, as key: String? = "default") throws -> [String: Any] {
        let signing = key.map { ["--as", $0] } ?? ["--anonymous"]
        let r = try home.run(["call", "homeservices", method, body, "--data", data] + signing)
        guard r.status == 0, let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("\(method): \(r.stdout) \(r.stderr)")
        }
        return object
    }

    /// HomeServices in the middle of its life moves from node A to node B: an order still open on A is completed and
    /// reviewed on B, and the receipt signed on A verifies against the key B now serves.
    @Test func homeServicesMovesWithItsOpenOrdersAndItsReceiptsKeepVerifying() throws {
        let a = try PackageInstallTests.Home(), b = try PackageInstallTests.Home()
        _ = try a.run(["keys", "new", "customer"])
        let key = a.root + "/move.key"
        #expect(try a.run(["backup", "--make-key", key]).status == 0)
        // HomeServices, packed by its developer and installed on A from the package.
        let source = a.root + "/hs"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.root + "/manifests/homeservices.toml", toPath: source + "/homeservices.toml")
        #expect(try a.run(["pack", "--manifest", source + "/homeservices.toml", "--key", "dev", "--output", a.root + "/hs.synapp"]).status == 0)
        let nodeA = try a.start()
        defer { nodeA.stop() }
        let installed = try a.run(["apps", "install", a.root + "/hs.synapp", "--grant-requested", "--data", a.data])
        #expect(installed.status == 0, "\(installed.stderr)")

        let space = try #require(try Self.call(a, a.data, "spaces.create", #"{"name":"Ada Plumbing","trade":"plumbing","description":"Leaks","location":{"city":"Lyon","lat":45.76,"lon":4.84},"service_area_km":20,"terms":"Pay on completion","cancellation":{"free_until_hours":24,"fee_percent":30},"time_zone":"Europe/Paris"}"#)["id"] as? String)
        _ = try Self.call(a, a.data, "catalog.upsert", #"{"space_id":"\#(space)","id":"leak","title":"Leak repair","description":"","kind":"slot","duration_minutes":60,"price":{"model":"fixed","amount":8500,"currency":"EUR"}}"#)
        let week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { #"{"day":"\#($0)","start":"08:00","end":"18:00"}"# }.joined(separator: ",")
        _ = try Self.call(a, a.data, "availability.set", #"{"space_id":"\#(space)","rules":{"weekly":[\#(week)],"min_notice_minutes":60,"request_expiry_minutes":120}}"#)
        let day = ISO8601DateFormatter.string(from: Date().addingTimeInterval(3 * 86_400), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        let slots = try #require(try Self.call(a, a.data, "slots.list", #"{"space_id":"\#(space)","item_id":"leak","from":"\#(day)","days":1}"#, as: nil)["slots"] as? [[String: Any]])
        #expect(slots.count >= 2)
        func book(_ slot: [String: Any]) throws -> String {
            let order = try #require(try Self.call(a, a.data, "bookings.request", #"{"space_id":"\#(space)","item_id":"leak","start_ms":\#(slot["start_ms"] ?? 0),"note":"Sink"}"#, as: "customer")["id"] as? String)
            _ = try Self.call(a, a.data, "orders.transition", #"{"order_id":"\#(order)","transition":"confirm"}"#)
            return order
        }
        // One order done and reviewed on A (a signed receipt); another confirmed and still open.
        let done = try book(slots[0]), open = try book(slots[1])
        for step in ["start", "complete"] { _ = try Self.call(a, a.data, "orders.transition", #"{"order_id":"\#(done)","transition":"\#(step)"}"#) }
        _ = try Self.call(a, a.data, "reviews.create", #"{"order_id":"\#(done)","rating":5,"text":"Fixed fast."}"#, as: "customer")
        _ = try Self.call(a, a.data, "reviews.create", #"{"order_id":"\#(done)","rating":4,"text":"Clear."}"#)
        let before = try #require(try Self.call(a, a.data, "reviews.list", #"{"id":"\#(space)"}"#, as: nil)["reviews"] as? [[String: Any]])
        #expect(before.count == 1)

        // Moved: exported from A while it serves, imported on B.
        let bundle = a.root + "/hs.synexport"
        let exported = try a.run(["apps", "export", "homeservices", "--to", bundle, "--key-file", key, "--data", a.data])
        #expect(exported.status == 0, "\(exported.stderr)")
        let nodeB = try b.start()
        defer { nodeB.stop() }
        let imported = try b.run(["apps", "import", bundle, "--key-file", key, "--grant-requested", "--data", b.data])
        #expect(imported.status == 0, "\(imported.stderr)")

        // On B, the receipt signed on A is there and verifies against the key B serves.
        let after = try #require(try Self.call(a, b.data, "reviews.list", #"{"id":"\#(space)"}"#, as: nil)["reviews"] as? [[String: Any]])
        #expect(after.count == 1)
        let receipt = try #require(after.first)
        #expect(receipt["app_key"] as? String == before.first?["app_key"] as? String)
        let appKey = Hex.decode(receipt["app_key"] as? String ?? "") ?? []
        let signed = Base64.decode(receipt["signed_json"] as? String ?? "") ?? []
        let signature = Hex.decode(receipt["signature"] as? String ?? "") ?? []
        #expect(Ed25519.verify(publicKey: appKey, domain: .app("homeservices"), message: signed, signature: signature))
        // The open order continues on B: the work is done and both sides review it, and its receipt is signed there.
        for step in ["start", "complete"] {
            let moved = try Self.call(a, b.data, "orders.transition", #"{"order_id":"\#(open)","transition":"\#(step)"}"#)
            #expect(moved["state"] as? String == (step == "start" ? "in_progress" : "completed"), "\(moved)")
        }
        _ = try Self.call(a, b.data, "reviews.create", #"{"order_id":"\#(open)","rating":4,"text":"Good."}"#, as: "customer")
        _ = try Self.call(a, b.data, "reviews.create", #"{"order_id":"\#(open)","rating":5,"text":"Kind."}"#)
        let both = try #require(try Self.call(a, b.data, "reviews.list", #"{"id":"\#(space)"}"#, as: nil)["reviews"] as? [[String: Any]])
        #expect(both.count == 2)
        for r in both {
            #expect(Ed25519.verify(publicKey: Hex.decode(r["app_key"] as? String ?? "") ?? [], domain: .app("homeservices"),
                                   message: Base64.decode(r["signed_json"] as? String ?? "") ?? [],
                                   signature: Hex.decode(r["signature"] as? String ?? "") ?? []))
            #expect(r["app_key"] as? String == receipt["app_key"] as? String)
        }
    }
}
