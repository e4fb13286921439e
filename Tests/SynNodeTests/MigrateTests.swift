import Foundation
import SynSQLite
import SynSodium
import SynTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `apps migrate APP --to PEER` between two running nodes linked over loopback: refused unless the peer accepts
/// this node, resumed after the receiving node dies mid-transfer, and HomeServices moved in the middle of its life
/// with its open orders, its receipts' key and its timers.
@Suite struct MigrateTests {
    /// Two package-test homes whose nodes listen for links and are each other's peers. `a` and `b` are appended to
    /// each node.toml.
    static func linked(a aExtra: String = "", b bExtra: String = "") throws -> (a: PackageInstallTests.Home, b: PackageInstallTests.Home, idA: String, idB: String) {
        let (a, b, invites) = try linkedWithInvites(a: aExtra, b: bExtra)
        return (a, b, String(invites[0].prefix { $0 != "@" }), String(invites[1].prefix { $0 != "@" }))
    }

    static func linkedWithInvites(a aExtra: String = "", b bExtra: String = "") throws -> (a: PackageInstallTests.Home, b: PackageInstallTests.Home, invites: [String]) {
        let a = try PackageInstallTests.Home(), b = try PackageInstallTests.Home()
        var invites: [String] = []
        for (home, extra) in [(a, aExtra), (b, bExtra)] {
            let toml = try String(contentsOfFile: home.data + "/node.toml", encoding: .utf8)
            try (toml + "\n[federation]\nlisten = \"127.0.0.1:\(try FederationTests.freePort())\"\n" + extra)
                .write(toFile: home.data + "/node.toml", atomically: true, encoding: .utf8)
            let made = try home.run(["peers", "invite", "--data", home.data])
            try #require(made.status == 0, "\(made.stderr)")
            invites.append(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(try a.run(["peers", "add", invites[1], "--name", "b", "--data", a.data]).status == 0)
        #expect(try b.run(["peers", "add", invites[0], "--name", "a", "--data", b.data]).status == 0)
        return (a, b, invites)
    }

    /// Lets `peer` move apps to `home`'s node (node.toml [migration] accept_from).
    static func accept(_ peer: String, on home: PackageInstallTests.Home) throws {
        let toml = try String(contentsOfFile: home.data + "/node.toml", encoding: .utf8)
        try toml.replacingOccurrences(of: "[migration]\n", with: "[migration]\naccept_from = [\"\(peer)\"]\n")
            .write(toFile: home.data + "/node.toml", atomically: true, encoding: .utf8)
    }

    /// `syneroym apps migrate` on another thread; `wait()` returns its result.
    final class Background: Sendable {
        let result = Mutex<CLI.Result?>(nil)
        let finished = DispatchSemaphore(value: 0)
        init(_ home: PackageInstallTests.Home, _ args: [String]) {
            Thread.detachNewThread { [self] in
                let r = (try? home.run(args)) ?? CLI.Result(status: -1, stdout: "", stderr: "did not run")
                result.withLock { $0 = r }
                finished.signal()
            }
        }
        func wait() -> CLI.Result {
            finished.wait()
            return result.withLock { $0 } ?? CLI.Result(status: -1, stdout: "", stderr: "")
        }
    }

    static func size(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : -1
    }

    /// Polls `condition` until it holds, for at most `seconds` (a bound for a broken node, not a measure of speed).
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    @Test func aMigrationIsRefusedUnlessThePeerAcceptsAndResumesAfterThePeerDies() throws {
        // A sends slowly, so that B can be killed while the bundle is on its way.
        let (a, b, idA, idB) = try Self.linked(a: "\n[migration]\nmax_send_kb_per_s = 16\n", b: "\n[migration]\ngrant_requested = true\n")
        let nodeA = try a.start()
        defer { nodeA.stop() }
        var nodeB = try b.start()
        defer { nodeB.stop() }
        #expect(try a.install(try a.pack("1.0.0", tag: "mig"), ["--grant-requested"]).status == 0)
        for i in 0..<40 { #expect(try nodeA.call("notes", "put", "\"note \(i) " + String(repeating: "x", count: 400) + "\"").status == 200) }
        #expect(nodeA.waitFor("event=link.up peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(2000))")

        // Only a node that is a peer, and only to a node that accepts this one.
        let stranger = try a.run(["apps", "migrate", "notes", "--to", String(repeating: "B", count: 43), "--data", a.data])
        #expect(stranger.status == 1 && stranger.stderr.contains("is not a peer of this node") && stranger.stderr.contains("peers add"), "\(stranger.stderr)")
        let refused = try a.run(["apps", "migrate", "notes", "--to", idB, "--data", a.data])
        #expect(refused.status == 1 && refused.stderr.contains("[migration] accept_from") && refused.stderr.contains("serves here again"), "\(refused.stderr)")
        #expect(try nodeA.call("notes", "count", "").body == "40")
        #expect(try a.audit().contains("\tnotes\tapp.migrate\tfailed"))
        #expect(try b.audit().contains("transfer.refused"))
        #expect(!FileManager.default.fileExists(atPath: b.data + "/apps/notes"))

        // B's owner lets A in (node.toml is read at each offer). A move cancelled while it is on its way: the app
        // serves on A again, and B drops what it had.
        try Self.accept(idA, on: b)
        let part = { (try? FileManager.default.contentsOfDirectory(atPath: b.data + "/incoming"))?.first { $0.hasSuffix(".part") } }
        let cancelled = Background(a, ["apps", "migrate", "notes", "--to", idB, "--data", a.data])
        #expect(Self.eventually(60) { part().map { Self.size(b.data + "/incoming/" + $0) > 0 } ?? false })
        let cancel = try a.run(["apps", "migrate", "notes", "--cancel", "--data", a.data])
        #expect(cancel.status == 0 && cancel.stdout.contains("serves here again"), "\(cancel.stdout) \(cancel.stderr)")
        let first = cancelled.wait()
        #expect(first.status == 1 && first.stderr.contains("cancelled"), "\(first.stderr)")
        #expect(try nodeA.call("notes", "count", "").body == "40")
        #expect(Self.eventually(60) { part() == nil })

        // And the move starts again.
        let migrate = Background(a, ["apps", "migrate", "notes", "--to", idB, "--data", a.data])
        let bundle = a.data + "/migrations/notes.synexport"
        #expect(Self.eventually(60) { Self.size(bundle) > 0 })
        let total = Self.size(bundle)
        // While it moves, A serves it no more: nothing written there after its copy could be lost.
        let moving = try nodeA.call("notes", "count", "")
        #expect(moving.status == 503 && moving.body.contains("app_moving") && moving.body.contains(idB), "\(moving)")

        // B dies with part of the bundle on disk; it comes back, and the transfer goes on from there.
        #expect(Self.eventually(60) { part().map { Self.size(b.data + "/incoming/" + $0) > 0 } ?? false })
        let partial = Self.size(b.data + "/incoming/" + (part() ?? ""))
        #expect(partial > 0 && partial < total, "\(partial) of \(total)")
        nodeB.killIfRunning()
        nodeB.stop()
        nodeB = try b.start()
        let done = migrate.wait()
        #expect(done.status == 0 && done.stdout.contains("moved notes to node \(idB)"), "\(done.stdout) \(done.stderr)")
        #expect(done.stderr.contains("resuming at"), "\(done.stderr)")
        #expect(nodeB.log.contains("resumes at"), "\(nodeB.log.suffix(3000))")

        // B serves it with all its data; A answers 410 naming B, and keeps nothing of the move behind.
        #expect(try nodeB.call("notes", "count", "").body == "40")
        let gone = try nodeA.call("notes", "count", "")
        #expect(gone.status == 410 && gone.body.contains("app_moved") && gone.body.contains(idB), "\(gone)")
        #expect(try a.audit().contains("\tnotes\tapp.migrate\tok\tmoved to node \(idB)"))
        #expect(try b.audit().contains("\tnotes\tapp.import\tok"))
        #expect(!FileManager.default.fileExists(atPath: bundle))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: b.data + "/incoming")) ?? []).allSatisfy { !$0.hasSuffix(".part") })
        // Asking again reports the move rather than starting one.
        let again = try a.run(["apps", "migrate", "notes", "--to", idB, "--data", a.data])
        #expect(again.status == 1 && again.stderr.contains("has moved to node \(idB) already"), "\(again.stderr)")
    }
}

extension MigrateTests {
    /// The rows `node.db` at `data` holds for `app`: its pending timers.
    static func timers(_ data: String, _ app: String) throws -> Int {
        let db = try Database(path: data + "/node.db")
        defer { db.close() }
        guard case .integer(let n)? = try db.query("SELECT count(*) FROM timers WHERE app = ?", [.text(app)]).first?.first else { return -1 }
        return Int(n)
    }

    /// HomeServices in the middle of its life moves from A to B over their link: the open order goes on on B, the
    /// receipt signed on A verifies against the key B serves, and its pending timers now wait on B.
    @Test func homeServicesMigratesOverTheLinkInTheMiddleOfItsLife() throws {
        let (a, b, idA, idB) = try Self.linked(b: "\n[migration]\ngrant_requested = true\n")
        try Self.accept(idA, on: b)
        let nodeA = try a.start()
        defer { nodeA.stop() }
        let nodeB = try b.start()
        defer { nodeB.stop() }
        let life = try HomeServicesLife(a)
        let pending = try Self.timers(a.data, "homeservices")
        #expect(pending > 0, "HomeServices has no timer pending: this test would not see them travel")
        #expect(nodeA.waitFor("event=link.up peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(2000))")

        let moved = try a.run(["apps", "migrate", "homeservices", "--to", idB, "--data", a.data])
        #expect(moved.status == 0 && moved.stdout.contains("moved homeservices to node \(idB)"), "\(moved.stdout) \(moved.stderr)")
        #expect(moved.stdout.contains("installed homeservices"), "\(moved.stdout)")
        try life.continues(on: b.data)
        // Its timers wait on B, and no longer on A (where they would fire for an app that is not there).
        #expect(try Self.timers(b.data, "homeservices") >= pending)
        #expect(try Self.timers(a.data, "homeservices") == 0)
        #expect(try b.audit().contains("\(pending) pending timers"))
        let gone = try nodeA.request("GET", "/v1/apps/homeservices/spaces.search?q=plumbing")
        #expect(gone.status == 410 || gone.status == 404, "\(gone)")
        #expect(try a.run(["apps", "list", "--data", a.data]).stdout.contains("moved"))
    }
}

extension MigrateTests {
    /// A third node C sends `net_send` messages to relay on A; relay migrates to B; C's messages sent before and
    /// after the move all arrive, once and in order, at B: A tells C where relay went, and C sends there.
    @Test func peersFollowAnAppThatMoved() async throws {
        try await offThePool {
            let (a, b, invites) = try Self.linkedWithInvites(b: "\n[migration]\ngrant_requested = true\n")
            let idA = String(invites[0].prefix { $0 != "@" }), idB = String(invites[1].prefix { $0 != "@" })
            try Self.accept(idA, on: b)
            let c = try NetSendTests.node("mig-c")
            let idC = String(c.invite.prefix { $0 != "@" })
            for invite in invites { #expect(try CLI.syneroym(["peers", "add", invite, "--data", c.data]).status == 0) }
            for home in [a, b] { #expect(try home.run(["peers", "add", c.invite, "--name", "c", "--data", home.data]).status == 0) }
            // relay on A, installed from its package.
            let source = a.root + "/relay"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: try TestSupport.buildC("Tests/NetApps/relay.c", name: "relay-mig"), toPath: source + "/librelay.so")
            try NetSendTests.manifest.write(toFile: source + "/relay.toml", atomically: true, encoding: .utf8)
            #expect(try a.run(["pack", "--manifest", source + "/relay.toml", "--key", "dev", "--output", a.root + "/relay.synapp"]).status == 0)
            let nodeA = try a.start(), nodeB = try b.start(), nodeC = try NetSendTests.run(c)
            defer { nodeA.stop(); nodeB.stop(); nodeC.stop() }
            #expect(try a.install(a.root + "/relay.synapp", ["--grant-requested"]).status == 0)
            #expect(nodeC.waitFor("event=link.up peer=\(idA)", seconds: 60), "\(nodeC.log.suffix(2000))")

            _ = try NetSendTests.send(nodeC, to: idA, 50)
            #expect(try NetSendTests.waitForCount(nodeA, 50, from: idC) == [50, 50, 1, 50, 0, 0])
            let moved = try a.run(["apps", "migrate", "relay", "--to", idB, "--data", a.data])
            #expect(moved.status == 0, "\(moved.stdout) \(moved.stderr)")

            // Sent to A after the move: A says where relay went, and C sends them, and every later one, to B.
            _ = try NetSendTests.send(nodeC, to: idA, 30)
            #expect(try NetSendTests.waitForCount(nodeB, 80, from: idC) == [80, 80, 1, 80, 0, 0])
            _ = try NetSendTests.send(nodeC, to: idA, 20)
            #expect(try NetSendTests.waitForCount(nodeB, 100, from: idC) == [100, 100, 1, 100, 0, 0])
            let audit = try CLI.syneroym(["audit", "show", "--data", c.data, "--limit", "100"]).stdout
            #expect(audit.contains("\trelay\tpeer.app_moved\tok\tpeer \(idA) says 'relay' moved to node \(idB)"), "\(audit)")
            #expect(try nodeA.call("relay", "received", "{}").status == 410)
        }
    }
}

extension MigrateTests {
    /// The app arrives on B but does not start there (B's owner assigned it a profile B lacks): the move fails, A
    /// serves it again, and B's copy is marked as moved back to A, so the two never both serve it.
    @Test func anAppThatDoesNotStartOnThePeerStaysHome() throws {
        let (a, b, idA, idB) = try Self.linked(b: "\n[migration]\ngrant_requested = true\n\n[apps.notes]\nprofile = \"missing-profile\"\n")
        try Self.accept(idA, on: b)
        let nodeA = try a.start()
        defer { nodeA.stop() }
        let nodeB = try b.start()
        defer { nodeB.stop() }
        #expect(try a.install(try a.pack("1.0.0", tag: "stay"), ["--grant-requested"]).status == 0)
        #expect(try nodeA.call("notes", "put", "\"kept\"").status == 200)
        #expect(nodeA.waitFor("event=link.up peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(2000))")
        let moved = try a.run(["apps", "migrate", "notes", "--to", idB, "--data", a.data])
        #expect(moved.status == 1 && moved.stderr.contains("does not start") && moved.stderr.contains("serves here again"), "\(moved.stderr)")
        #expect(try nodeA.call("notes", "count", "").body == "1")
        let there = try nodeB.call("notes", "count", "")
        #expect(there.status == 410 && there.body.contains(idA), "\(there)")
    }

    /// A provider can go back: an app moved from A to B moves back to A with what it did on B, and what it had
    /// left on A is set aside, not deleted.
    @Test func anAppMovesBackToTheNodeItLeft() throws {
        let both = "\n[migration]\ngrant_requested = true\n"
        let (a, b, idA, idB) = try Self.linked(a: both, b: both)
        try Self.accept(idA, on: b)
        try Self.accept(idB, on: a)
        let nodeA = try a.start()
        defer { nodeA.stop() }
        let nodeB = try b.start()
        defer { nodeB.stop() }
        #expect(try a.install(try a.pack("1.0.0", tag: "back"), ["--grant-requested"]).status == 0)
        #expect(try nodeA.call("notes", "put", "\"on a\"").status == 200)
        #expect(nodeA.waitFor("event=link.up peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(2000))")
        #expect(nodeB.waitFor("event=link.up peer=\(idA)", seconds: 60), "\(nodeB.log.suffix(2000))")

        let there = try a.run(["apps", "migrate", "notes", "--to", idB, "--data", a.data])
        #expect(there.status == 0, "\(there.stderr)")
        #expect(try nodeB.call("notes", "put", "\"on b\"").status == 200)
        #expect(try nodeB.call("notes", "count", "").body == "2")
        #expect(try nodeA.call("notes", "count", "").status == 410)

        let back = try b.run(["apps", "migrate", "notes", "--to", idA, "--data", b.data])
        #expect(back.status == 0, "\(back.stderr)")
        // A serves it again, with what it did on B; B now sends callers back to A.
        #expect(try nodeA.call("notes", "count", "").body == "2")
        #expect(try nodeA.call("notes", "put", "\"on a again\"").status == 200)
        let gone = try nodeB.call("notes", "count", "")
        #expect(gone.status == 410 && gone.body.contains(idA), "\(gone)")
        // What it had left on A is kept aside, with the moved marker it had.
        let left = try FileManager.default.contentsOfDirectory(atPath: a.data + "/left")
        #expect(left.count == 1 && left[0].hasPrefix("notes-"))
        #expect(FileManager.default.fileExists(atPath: a.data + "/left/" + left[0] + "/moved.json"))
        #expect(!FileManager.default.fileExists(atPath: a.data + "/apps/notes/moved.json"))
        // It survives a restart of A as an app that serves here.
        nodeA.stop()
        let again = try a.start()
        defer { again.stop() }
        #expect(try again.call("notes", "count", "").body == "3")
    }
}
