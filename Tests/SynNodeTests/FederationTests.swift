import Foundation
import SynSQLite
import SynTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two real nodes, each its own `syneroym run` with its own data directory, linked over loopback the way two
/// owners would do it: `peers invite` on each, `peers add` on the other, then run.
@Suite struct FederationTests {
    /// A port nothing listens on now (the kernel's pick for a socket bound to port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(ok)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The owner's key ring (`XDG_CONFIG_HOME`), with a key `default` that owns every node made here.
    static let owner: [String: String] = {
        let home = ["XDG_CONFIG_HOME": TestSupport.scratch + "/fed-owner-\(UInt32.random(in: 0...UInt32.max))"]
        _ = try? CLI.syneroym(["keys", "new", "default"], environment: home)
        return home
    }()

    /// An initialised node directory listening for links on `port`, owned by `owner`'s key; its data directory and
    /// its invite line.
    static func node(_ label: String, port: Int, federation: String = "") throws -> (dir: String, data: String, invite: String) {
        let dir = try TestSupport.helloNodeDirectory(label)
        let data = dir + "/data"
        let initialized = try CLI.syneroym(["init", "--data", data, "--owner", "default", "--manifests", dir + "/manifests"], environment: owner)
        try #require(initialized.status == 0, "\(initialized.stderr)")
        let toml = try String(contentsOfFile: data + "/node.toml", encoding: .utf8)
        try (toml + "\n[federation]\nlisten = \"127.0.0.1:\(port)\"\n" + federation).write(toFile: data + "/node.toml", atomically: true, encoding: .utf8)
        let invite = try CLI.syneroym(["peers", "invite", "--data", data])
        try #require(invite.status == 0, "\(invite.stderr)")
        return (dir, data, invite.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func run(_ node: (dir: String, data: String, invite: String)) throws -> ProcessNode {
        try ProcessNode.launch(["run", "--manifests", node.dir + "/manifests", "--profiles", TestSupport.root + "/sandbox-profiles",
                                "--data", node.data, "--listen", "127.0.0.1:0"], data: node.data, apps: ["hello"])
    }

    @Test func twoOwnersLinkTheirNodesAndWitnessEachOther() async throws {
        try await offThePool {
            let a = try Self.node("fed-a", port: try Self.freePort())
            let b = try Self.node("fed-b", port: try Self.freePort())
            let idA = String(a.invite.prefix { $0 != "@" }), idB = String(b.invite.prefix { $0 != "@" })
            #expect(try CLI.syneroym(["peers", "add", b.invite, "--name", "b", "--data", a.data]).status == 0)
            #expect(try CLI.syneroym(["peers", "add", a.invite, "--name", "a", "--data", b.data]).status == 0)
            let nodeA = try Self.run(a), nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }
            #expect(nodeA.waitFor("event=link.up peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(3000))")
            #expect(nodeB.waitFor("event=link.up peer=\(idA)", seconds: 60), "\(nodeB.log.suffix(3000))")
            // On a running node, the commands go through its owner-signed admin routes and act at once.
            let online = try CLI.syneroym(["peers", "list", "--data", a.data], environment: Self.owner)
            #expect(online.status == 0 && online.stdout.contains("b\t\(b.invite)\tconnected\trtt "), "\(online.stdout) \(online.stderr)")
            #expect(online.stdout.contains("queued 0 sent 0 acked 0 retried 0"), "\(online.stdout)")
            #expect(try CLI.syneroym(["peers", "remove", idB, "--data", a.data], environment: Self.owner).status == 0)
            #expect(nodeA.waitFor("event=link.down peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(3000))")
            let unsigned = try CLI.syneroym(["peers", "add", b.invite, "--data", a.data, "--as", "nobody"], environment: Self.owner)
            #expect(unsigned.status != 0)
            #expect(try CLI.syneroym(["peers", "add", b.invite, "--name", "b", "--data", a.data], environment: Self.owner).status == 0)
            // The link comes up again (bounded wait: a second link.up in A's log).
            var ups = 0
            for _ in 0..<600 where ups < 2 {
                ups = nodeA.log.components(separatedBy: "event=link.up peer=\(idB)").count - 1
                if ups < 2 { usleep(100_000) }
            }
            #expect(ups >= 2, "\(nodeA.log.suffix(3000))")
            let metrics = try nodeA.request("GET", "/metrics")
            #expect(metrics.body.contains(#"syneroym_link_events_total{event="link.up"}"#), "\(metrics.body.prefix(2000))")
            // Each node keeps the other's audit head: it is sent when the link comes up.
            nodeA.process.signal(SIGTERM)
            nodeB.process.signal(SIGTERM)
            #expect(nodeA.process.wait() == 0 && nodeB.process.wait() == 0)
            let listed = try CLI.syneroym(["peers", "list", "--data", a.data])
            #expect(listed.stdout.contains("b\t\(b.invite)\taudit head #"), "\(listed.stdout)")
            let audit = try CLI.syneroym(["audit", "show", "--data", b.data, "--limit", "100"])
            #expect(audit.stdout.contains("link.up") && audit.stdout.contains(idA), "\(audit.stdout)")
        }
    }

    @Test func aNodeThatIsNotAPeerIsRefused() async throws {
        try await offThePool {
            let b = try Self.node("fed-host", port: try Self.freePort())
            let stranger = try Self.node("fed-stranger", port: try Self.freePort())
            #expect(try CLI.syneroym(["peers", "add", b.invite, "--data", stranger.data]).status == 0)
            let nodeB = try Self.run(b), nodeS = try Self.run(stranger)
            defer { nodeB.stop(); nodeS.stop() }
            #expect(nodeB.waitFor("event=link.refused", seconds: 60), "\(nodeB.log.suffix(3000))")
            #expect(!nodeB.log.contains("event=link.up"))
        }
    }

    /// The owner truncates A's audit log while A is stopped (and drops its signed head file): A's own check passes,
    /// but B holds a head of A's log from before, and `audit verify` on the running A asks B and fails.
    @Test func aTruncatedLogIsCaughtByThePeerThatWitnessedIt() async throws {
        try await offThePool {
            // Pings (and audit heads) every second, so B holds a recent head of A soon.
            let a = try Self.node("wit-a", port: try Self.freePort(), federation: "ping_s = 1\n")
            let b = try Self.node("wit-b", port: try Self.freePort(), federation: "ping_s = 1\n")
            let idA = String(a.invite.prefix { $0 != "@" }), idB = String(b.invite.prefix { $0 != "@" })
            #expect(try CLI.syneroym(["peers", "add", b.invite, "--name", "b", "--data", a.data]).status == 0)
            #expect(try CLI.syneroym(["peers", "add", a.invite, "--name", "a", "--data", b.data]).status == 0)
            var nodeA = try Self.run(a)
            let nodeB = try Self.run(b)
            defer { nodeA.stop(); nodeB.stop() }
            #expect(nodeB.waitFor("event=link.up peer=\(idA)", seconds: 60), "\(nodeB.log.suffix(3000))")
            // The head B holds of A (bounded wait: A signs its head every two seconds and sends it on the link).
            var held: Int64 = 0
            for _ in 0..<600 where held < 3 {
                let listed = try CLI.syneroym(["peers", "list", "--data", b.data], environment: Self.owner).stdout
                if let range = listed.range(of: "audit head #") {
                    held = Int64(listed[range.upperBound...].prefix { $0.isNumber }) ?? 0
                }
                if held < 3 { usleep(100_000) }
            }
            try #require(held >= 3)
            #expect(try CLI.syneroym(["audit", "verify", "--data", a.data], environment: Self.owner).status == 0)
            nodeA.process.signal(SIGTERM)
            #expect(nodeA.process.wait() == 0)
            // The owner cuts the log back before the witnessed entry, and the checkpoints and head that cover it.
            let db = try Database(path: a.data + "/node.db")
            _ = try db.execute("DELETE FROM audit WHERE seq >= ?", [.integer(held)])
            _ = try db.execute("DELETE FROM audit_checkpoint WHERE seq >= ?", [.integer(held)])
            db.close()
            try FileManager.default.removeItem(atPath: a.data + "/audit.head")
            let alone = try CLI.syneroym(["audit", "verify", "--data", a.data], environment: Self.owner)
            #expect(alone.status == 0 && alone.stdout.contains("witnesses: not asked"), "\(alone.stdout) \(alone.stderr)")
            nodeA = try Self.run(a)
            #expect(nodeA.waitFor("event=link.up peer=\(idB)", seconds: 60), "\(nodeA.log.suffix(3000))")
            let witnessed = try CLI.syneroym(["audit", "verify", "--data", a.data], environment: Self.owner)
            #expect(witnessed.status == 1, "\(witnessed.stdout) \(witnessed.stderr)")
            #expect(witnessed.stdout.contains("witness b (\(idB)): BROKEN at entry \(held)"), "\(witnessed.stdout)")
        }
    }

    /// `run --links-listen` (what `make run` uses) accepts links without a node.toml entry, and `peers invite` on the
    /// running node prints the address it really listens on.
    @Test func aRunningNodeInvitesWithTheAddressItListensOn() async throws {
        try await offThePool {
            let dir = try TestSupport.helloNodeDirectory("invite")
            let data = dir + "/data"
            #expect(try CLI.syneroym(["init", "--data", data, "--manifests", dir + "/manifests"]).status == 0)
            let stopped = try CLI.syneroym(["peers", "invite", "--data", data])
            #expect(stopped.status == 2 && stopped.stderr.contains("--links-listen"), "\(stopped.stderr)")
            let node = try ProcessNode.launch(["run", "--manifests", dir + "/manifests", "--profiles", TestSupport.root + "/sandbox-profiles",
                                               "--data", data, "--listen", "127.0.0.1:0", "--links-listen", "127.0.0.1:0"],
                                              data: data, apps: ["hello"])
            defer { node.stop() }
            #expect(node.waitFor("links listening", seconds: 60))
            let invite = try CLI.syneroym(["peers", "invite", "--data", data])
            let port = invite.stdout.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            #expect(invite.status == 0 && invite.stdout.contains("@127.0.0.1:") && port > 0, "\(invite.stdout) \(invite.stderr)")
        }
    }
}
