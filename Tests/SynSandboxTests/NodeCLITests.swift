import Foundation
import SynConfig
import SynSodium
import Testing

/// `syneroym init`, `keys` and `doctor` as a node owner runs them: the real binary on real files.
@Suite struct NodeCLITests {
    struct Home {
        let root = TestSupport.scratch + "/cli-\(UInt32.random(in: 0...UInt32.max))"
        var data: String { root + "/data" }
        var environment: [String: String] { ["XDG_CONFIG_HOME": root + "/config"] }
        func run(_ args: [String]) throws -> ExecCommandTests.Result {
            try ExecCommandTests.syneroym(args, environment: environment)
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
        let node = Process()
        node.executableURL = URL(fileURLWithPath: TestSupport.products + "/syneroym")
        node.arguments = ["run", "--manifests", dir + "/manifests", "--profiles", TestSupport.root + "/sandbox-profiles",
                          "--data", dir + "/data", "--listen", "127.0.0.1:0", "--log-format", "json"]
        let err = Pipe()
        node.standardError = err
        try node.run()
        let watched = Watched(node)
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { watched.killIfRunning() }
        var seen = HostDeathTests.readUntil("started(app", from: err.fileHandleForReading)
        kill(node.processIdentifier, SIGTERM)
        seen += HostDeathTests.readUntil("node stopped", from: err.fileHandleForReading)
        node.waitUntilExit()
        #expect(node.terminationStatus == 0)
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
