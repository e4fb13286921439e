import Foundation
import SynTestSupport
#if canImport(Glibc)
import Glibc
#endif
import SynConfig
import SynSodium
import Testing

/// `syneroym init`, `keys` and `doctor` as a node owner runs them: the real binary on real files.
@Suite struct NodeCLITests {
    struct Home {
        let root = TestSupport.scratch + "/cli-\(UInt32.random(in: 0...UInt32.max))"
        var data: String { root + "/data" }
        var environment: [String: String] { ["XDG_CONFIG_HOME": root + "/config"] }
        func run(_ args: [String]) throws -> CLI.Result {
            try CLI.syneroym(args, environment: environment)
        }
    }

    @Test func keysAreCreatedPrivateAndNeverReplaced() throws {
        let home = Home()
        let created = try home.run(["keys", "new", "alice"])
        #expect(created.status == 0, "\(created.stderr)")
        let path = home.root + "/config/syneroym/keys/alice.key"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let again = try home.run(["keys", "new", "alice"])
        #expect(again.status == 2 && again.stderr.contains("already exists"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // The id printed is the base64url public key; the secret half is never printed.
        let id = try #require(created.stdout.split(separator: "key id: ").last).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Base64URL.decode(id) == Array(before[32...]))
        let shown = try home.run(["keys", "show", "alice"]).stdout + (try home.run(["keys", "list"])).stdout
        #expect(shown.contains(id))
        #expect(!shown.contains(Hex.encode(Array(before[..<32]))) && !shown.contains(Base64URL.encode(Array(before[..<32]))))
        #expect(try home.run(["keys", "new", "../escape"]).status == 2)
    }

    @Test func initIsIdempotentAndGrantsTheShippedManifests() throws {
        let home = Home()
        _ = try home.run(["keys", "new"])
        let first = try home.run(["init", "--data", home.data, "--owner", "default", "--manifests", TestSupport.root + "/manifests"])
        #expect(first.status == 0, "\(first.stderr)")
        let toml = try String(contentsOfFile: home.data + "/node.toml", encoding: .utf8)
        let config = try NodeConfig.parse(toml, file: "node.toml")
        #expect(config.apps["hello"]?.enabled == true && config.apps["hello"]?.profile == "default")
        #expect(config.owners.count == 1)
        let key = try Data(contentsOf: URL(fileURLWithPath: home.data + "/node.key"))
        let second = try home.run(["init", "--data", home.data, "--manifests", TestSupport.root + "/manifests"])
        #expect(second.status == 0 && second.stdout.contains("nothing changed"))
        #expect(try String(contentsOfFile: home.data + "/node.toml", encoding: .utf8) == toml)
        #expect(try Data(contentsOf: URL(fileURLWithPath: home.data + "/node.key")) == key)
        // init is a management action: audited, and the log verifies.
        #expect(try home.run(["audit", "show", "--data", home.data]).stdout.contains("config.create"))
        #expect(try home.run(["audit", "verify", "--data", home.data]).status == 0)
    }

    /// A shell command in a fresh mount namespace (as root).
    static func unshared(_ script: String) throws -> CLI.Result {
        // stderr goes through a file: reading two pipes one after the other could wait on each other.
        let scratch = TempDir("unshare")
        let errors = scratch.file("stderr")
        let child = try ChildProcess("/usr/bin/unshare", ["-m", "sh", "-c", "exec 2>\(errors)\n" + script], stderr: .null)
        let o = child.readOutput()
        let status = child.wait()
        let e = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        return withExtendedLifetime(scratch) { .init(status: status, stdout: o, stderr: e) }
    }

    /// cgroup v2, on any host: the node runs alone in a cgroup of a private cgroup2 mount, as under systemd with
    /// `Delegate=yes`. It moves itself into the `syneroym-host` leaf, so that its cgroup may hand controllers to
    /// worker cgroups. Where v2 has the controllers, workers get v2 limits; where v1 holds them (this kind of host),
    /// doctor names the v2 fix and workers still start, under rlimits.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
    func aNodeAloneInAV2CgroupMovesIntoItsLeaf() throws {
        let home = Home()
        _ = try home.run(["init", "--data", home.data, "--manifests", TestSupport.root + "/manifests"])
        let group = "/sys/fs/cgroup/syneroym-test-\(UInt32.random(in: 0...UInt32.max))"
        let binary = TestSupport.products + "/syneroym"
        let doctor = try Self.unshared("""
            mount -t cgroup2 none /sys/fs/cgroup || exit 90
            mkdir -p \(group) && echo $$ > \(group)/cgroup.procs || exit 91
            cd \(TestSupport.root) && exec \(binary) doctor --data \(home.data) --manifests manifests --profiles sandbox-profiles
            """)
        let after = try Self.unshared("""
            mount -t cgroup2 none /sys/fs/cgroup || exit 90
            test -d \(group)/syneroym-host && echo leaf
            echo "controllers: $(cat \(group)/cgroup.controllers)"
            rmdir \(group)/syneroym-host \(group)
            """)
        try #require(doctor.status != 90 && doctor.status != 91, "cannot mount cgroup2 or join a cgroup: \(doctor.stderr)")
        #expect(after.stdout.contains("leaf"), "\(after.stdout)\(after.stderr)")
        let controllers = after.stdout.split(separator: "\n").first { $0.hasPrefix("controllers:") } ?? ""
        if ["memory", "pids", "cpu"].allSatisfy({ controllers.contains($0) }) {
            #expect(doctor.stdout.contains("ok    cgroups: cgroup v2"), "\(doctor.stdout)")
        } else {
            #expect(doctor.stdout.contains("FAIL  cgroups") && doctor.stdout.contains("is not offered the memory,pids,cpu controller(s)"),
                    "\(doctor.stdout)")
            #expect(doctor.stdout.contains("Delegate=yes") && !doctor.stdout.contains("fix: cgroup v1"), "\(doctor.stdout)")
        }
        #expect(doctor.stdout.contains("ok    sandbox hello"), "\(doctor.stdout)")
    }

    @Test func doctorPassesOnAHealthyNodeAndNamesTheFixOtherwise() throws {
        let home = Home()
        _ = try home.run(["init", "--data", home.data, "--manifests", TestSupport.root + "/manifests"])
        let healthy = try home.run(["doctor", "--data", home.data, "--manifests", TestSupport.root + "/manifests",
                                    "--profiles", TestSupport.root + "/sandbox-profiles"])
        #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")
        for check in ["user namespaces", "seccomp", "cgroups", "worker uids", "node key", "data directory", "sandbox hello"] {
            #expect(healthy.stdout.contains("ok    \(check)"), "\(healthy.stdout)")
        }
        chmod(home.data + "/node.key", 0o644)
        let broken = try home.run(["doctor", "--data", home.data, "--manifests", TestSupport.root + "/manifests",
                                   "--profiles", TestSupport.root + "/sandbox-profiles"])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("FAIL  node key") && broken.stdout.contains("fix: chmod 600"), "\(broken.stdout)")
    }
}

/// `syneroym run --log-format json`: every stderr line is one JSON object.
@Suite struct NodeLogFormatTests {
    @Test func jsonLogsAreOneObjectPerLine() throws {
        let dir = try TestSupport.helloNodeDirectory("jsonlog")
        let node = try ChildProcess(TestSupport.products + "/syneroym",
                                    ["run", "--manifests", dir + "/manifests", "--profiles", TestSupport.root + "/sandbox-profiles",
                                     "--data", dir + "/data", "--listen", "127.0.0.1:0", "--log-format", "json"], stdout: .null)
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { node.signal() }
        guard let stderr = node.errorHandle else { throw TestFailure("no stderr pipe") }
        var seen = HostDeathTests.readUntil("started(app", from: stderr)
        node.signal(SIGTERM)
        seen += HostDeathTests.readUntil("node stopped", from: stderr)
        #expect(node.wait() == 0)
        let lines = seen.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count >= 4)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["ts"] is String && object?["level"] is String && object?["msg"] is String, "\(line)")
        }
        #expect(lines.contains { $0.contains("\"msg\":\"gateway listening\"") })
        #expect(lines.contains { $0.contains("\"app\":\"hello\"") })
    }
}
