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
    /// HomeServices in the middle of its life moves from node A to node B: an order still open on A is completed and
    /// reviewed on B, and the receipt signed on A verifies against the key B now serves.
    @Test func homeServicesMovesWithItsOpenOrdersAndItsReceiptsKeepVerifying() throws {
        let a = try PackageInstallTests.Home(), b = try PackageInstallTests.Home()
        let key = a.root + "/move.key"
        #expect(try a.run(["backup", "--make-key", key]).status == 0)
        let nodeA = try a.start()
        defer { nodeA.stop() }
        let life = try HomeServicesLife(a)

        // Moved: exported from A while it serves, imported on B.
        let bundle = a.root + "/hs.synexport"
        let exported = try a.run(["apps", "export", "homeservices", "--to", bundle, "--key-file", key, "--data", a.data])
        #expect(exported.status == 0, "\(exported.stderr)")
        let nodeB = try b.start()
        defer { nodeB.stop() }
        let imported = try b.run(["apps", "import", bundle, "--key-file", key, "--grant-requested", "--data", b.data])
        #expect(imported.status == 0, "\(imported.stderr)")
        try life.continues(on: b.data)
    }
}
