import Foundation
import SynSodium
import SynTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Signed packages on a real node: `syneroym pack`, `verify` and `apps install` through the owner-signed admin
/// route, with hostile packages refused before any of their code runs, and upgrades that fail rolled back.
@Suite struct PackageInstallTests {
    /// An owner (`default`), a developer (`dev`) and someone else (`mallory`), and a node on `data` with hello.
    final class Home: @unchecked Sendable {
        let root = TestSupport.scratch + "/pkg-\(UInt32.random(in: 0...UInt32.max))"
        var data: String { root + "/data" }
        var environment: [String: String] { ["XDG_CONFIG_HOME": root + "/config"] }
        let manifests: String

        init() throws {
            manifests = try TestSupport.helloNodeDirectory("pkg") + "/manifests"
            for key in ["default", "dev", "mallory"] { _ = try CLI.syneroym(["keys", "new", key], environment: ["XDG_CONFIG_HOME": root + "/config"]) }
            let made = try CLI.syneroym(["init", "--data", root + "/data", "--manifests", manifests, "--owner", "default"],
                                        environment: ["XDG_CONFIG_HOME": root + "/config"])
            guard made.status == 0 else { throw TestFailure("init: \(made.stderr)") }
        }

        func run(_ args: [String]) throws -> CLI.Result { try CLI.syneroym(args, environment: environment) }

        func start() throws -> ProcessNode {
            try ProcessNode.launch(["run", "--manifests", manifests, "--profiles", TestSupport.root + "/sandbox-profiles",
                                    "--data", data, "--listen", "127.0.0.1:0"], data: data, apps: ["hello"],
                                   environment: environment)
        }

        /// Builds versioned.c with `flags` as the notes app's library and packs it at `version`, signed by `key`.
        func pack(_ version: String, flags: [String] = [], key: String = "dev", profile: String? = nil, tag: String) throws -> String {
            let lib = try TestSupport.buildC("Tests/HostileApps/versioned.c", name: "notes-\(tag)",
                                             extraFlags: ["-DAPP_VERSION=\"\(version)\""] + flags)
            let source = root + "/src-\(tag)"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: source + "/libnotes.so")
            try FileManager.default.copyItem(atPath: lib, toPath: source + "/libnotes.so")
            try (Self.manifest(version) + (profile.map { "\n\n[sandbox]\nprofile = \"\($0)\"\n" } ?? ""))
                .write(toFile: source + "/notes.toml", atomically: true, encoding: .utf8)
            let output = root + "/notes-\(tag).synapp"
            let packed = try run(["pack", "--manifest", source + "/notes.toml", "--key", key, "--output", output, "--revision", "test-\(tag)"])
            guard packed.status == 0 else { throw TestFailure("pack: \(packed.stderr)") }
            return output
        }

        static func manifest(_ version: String) -> String {
            """
            [app]
            id = "notes"
            name = "Notes"
            version = "\(version)"
            abi = 1
            library = "libnotes.so"

            [capabilities]
            storage.sql = true

            [methods]
            public = ["version", "put", "count", "tags"]
            """
        }

        func install(_ package: String, _ extra: [String] = []) throws -> CLI.Result {
            try run(["apps", "install", package, "--data", data] + extra)
        }

        func audit() throws -> String { try run(["audit", "show", "--data", data, "--limit", "200"]).stdout }

        /// The developer key file's signing key, for forging packages the honest way would refuse to make.
        func key(_ name: String) throws -> SigningKey { try KeyFile.load(path: root + "/config/syneroym/keys/\(name).key") }
    }

    @Test func packedPackagesVerifyAndTamperedOnesAreRefusedBeforeAnyCodeRuns() throws {
        let home = try Home()
        let good = try home.pack("1.0.0", tag: "v1")
        let verified = try home.run(["verify", good])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("app:        notes 1.0.0") && verified.stdout.contains("source:     test-v1"))
        #expect(verified.stdout.contains("links:      libc.so.6") && verified.stdout.contains("requests:   storage.sql = true"))
        #expect(verified.stdout.contains("toolchain:  GCC"))
        let node = try home.start()
        defer { node.stop() }

        // Each altered package is refused by verification: no worker is started for it, nothing is placed.
        var cases: [(name: String, expect: String)] = []
        var flipped = try PackageParts(good)
        flipped.body[flipped.body.count - 200] ^= 0x01
        try flipped.write(home.root + "/flipped.synapp")
        cases.append(("flipped", "libnotes.so does not match its sha256 in the signed header"))
        var edited = try PackageParts(good)
        let at = try #require(String(decoding: edited.body, as: UTF8.self).range(of: "storage.sql = true"))
        let offset = String(decoding: edited.body, as: UTF8.self).utf8.distance(from: String(decoding: edited.body, as: UTF8.self).utf8.startIndex, to: at.lowerBound)
        edited.body.replaceSubrange(offset..<(offset + 18), with: Array("storage.kv  = true".utf8))
        try edited.write(home.root + "/edited.synapp")
        cases.append(("edited", "manifest.toml does not match its sha256 in the signed header"))
        var otherKey = try PackageParts(good)
        otherKey.signature = try home.key("mallory").sign(domain: .package, otherKey.header)
        try otherKey.write(home.root + "/otherkey.synapp")
        cases.append(("otherkey", "the signature does not verify with the developer key it names"))
        var abi = try PackageParts(good)
        try abi.resign(try home.key("dev")) { $0["abi"] = 2 }
        try abi.write(home.root + "/abi.synapp")
        cases.append(("abi", "is built for PluginABI major 2; this node runs major 1"))
        var truncated = try PackageParts(good)
        truncated.body.removeLast(10)
        try truncated.write(home.root + "/truncated.synapp")
        cases.append(("truncated", "the package is truncated or altered"))
        for (name, reason) in cases {
            let refused = try home.install(home.root + "/\(name).synapp", ["--grant-requested"])
            #expect(refused.status == 1, "\(name): \(refused.stdout)")
            #expect(refused.stderr.contains("bad_package") && refused.stderr.contains(reason), "\(name): \(refused.stderr)")
            #expect(try home.run(["verify", home.root + "/\(name).synapp"]).status == 1)
        }
        // A library whose magic lies about its app id, or its ABI major, is refused by the sandboxed probe.
        for (tag, flags, reason) in [("liar", ["-DMAGIC_ID=\"hello\""], "synapp_magic reports app id 'hello' but the manifest's [app] id is 'notes'"),
                                     ("abi2", ["-DMAGIC_ABI=2"], "the app was built for PluginABI major 2")] {
            let package = try home.pack("1.0.0", flags: flags, tag: tag)
            let refused = try home.install(package, ["--grant-requested"])
            #expect(refused.status == 1 && refused.stderr.contains("failed its sandboxed probe") && refused.stderr.contains(reason), "\(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: home.data + "/apps/notes/installed.json"))
        #expect(try home.run(["apps", "list", "--data", home.data]).stdout.contains("notes") == false)
        let audit = try home.audit()
        #expect(!audit.contains("\tnotes\tapp.start"))

        // The honest package installs; the key that signed it is pinned for the id.
        let installed = try home.install(good, ["--grant-requested"])
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(installed.stdout.contains("installed notes 1.0.0") && installed.stdout.contains("state: running"))
        #expect(try node.call("notes", "version", "").body == "\"1.0.0\"")
        let mallory = try home.pack("1.1.0", key: "mallory", tag: "mallory")
        let pinned = try home.install(mallory)
        let dev = try home.key("dev"), other = try home.key("mallory")
        #expect(pinned.status == 1 && pinned.stderr.contains("developer_key_changed"), "\(pinned.stderr)")
        #expect(pinned.stderr.contains(Base64URL.encode(dev.publicKey)) && pinned.stderr.contains(Base64URL.encode(other.publicKey)))
        #expect(pinned.stderr.contains("--new-developer"))
        #expect(try node.call("notes", "version", "").body == "\"1.0.0\"")
        // An owner who says so accepts the new key, which is pinned from then on.
        let accepted = try home.install(mallory, ["--new-developer"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(try node.call("notes", "version", "").body == "\"1.1.0\"")
        #expect(try home.audit().contains("app.developer\tok"))
        // Someone who is not an owner cannot install, however the package is signed.
        let stranger = try home.run(["apps", "install", good, "--data", home.data, "--as", "mallory"])
        #expect(stranger.status == 1 && stranger.stderr.contains("HTTP 403"), "\(stranger.stderr)")
    }

    @Test func failedUpgradesRollBackToTheOldVersionWithItsData() throws {
        let home = try Home()
        let node = try home.start()
        defer { node.stop() }
        // A new app is granted nothing the owner did not accept: it is installed disabled.
        let v1 = try home.pack("1.0.0", tag: "r1")
        let cautious = try home.install(v1)
        #expect(cautious.status == 0, "\(cautious.stderr)")
        #expect(cautious.stdout.contains("state: disabled") && cautious.stdout.contains("not granted by node.toml [apps.notes.grants]: storage.sql"))
        let toml = try String(contentsOfFile: home.data + "/node.toml", encoding: .utf8)
        #expect(cautious.stdout.contains("set enabled = true, then `syneroym apps restart notes`"))
        try toml.replacingOccurrences(of: "storage.sql = false", with: "storage.sql = true")
            .replacingOccurrences(of: "enabled = false", with: "enabled = true")
            .write(toFile: home.data + "/node.toml", atomically: true, encoding: .utf8)
        #expect(try home.run(["apps", "restart", "notes", "--data", home.data]).status == 0)
        for note in ["a", "b", "c"] { #expect(try node.call("notes", "put", "\"\(note)\"").status == 200) }

        // A migration that fails, and an init that crashes: the old version serves again, its data intact.
        for (version, migration, cause) in [("2.0.0", 2, "its workers do not start"), ("2.0.1", 3, "its workers do not start")] {
            let package = try home.pack(version, flags: ["-DMIGRATION=\(migration)"], tag: "m\(migration)")
            let failed = try home.install(package)
            #expect(failed.status == 1, "\(failed.stdout)")
            #expect(failed.stderr.contains("the upgrade of 'notes' from 1.0.0 to \(version) failed") && failed.stderr.contains(cause), "\(failed.stderr)")
            #expect(failed.stderr.contains("1.0.0 serves again, its database restored"))
            #expect(try node.call("notes", "version", "").body == "\"1.0.0\"")
            #expect(try node.call("notes", "count", "").body == "3")
            #expect(try node.call("notes", "tags", "").body == "0")
            let audit = try home.audit()
            #expect(audit.contains("app.upgrade\tfailed\t1.0.0 to \(version)"))
            #expect(audit.contains("app.rollback\tok\tback to 1.0.0 after the failed upgrade to \(version)"))
        }
        // A good migration upgrades in place and keeps the data.
        let v2 = try home.pack("2.1.0", flags: ["-DMIGRATION=1"], tag: "m1")
        let upgraded = try home.install(v2)
        #expect(upgraded.status == 0 && upgraded.stdout.contains("upgraded notes from 1.0.0 to 2.1.0"), "\(upgraded.stderr)")
        #expect(try node.call("notes", "version", "").body == "\"2.1.0\"")
        #expect(try node.call("notes", "count", "").body == "3" && (try node.call("notes", "tags", "")).body == "1")
        #expect(try node.call("notes", "put", "\"d\"").status == 200)
        // Installing it again, or an older one, is refused: going back is `apps rollback`.
        let again = try home.install(v2)
        #expect(again.status == 1 && again.stderr.contains("version_conflict"))
        #expect(try home.install(v1).stderr.contains("apps rollback notes"))
        let versions = try home.run(["apps", "versions", "notes", "--data", home.data])
        #expect(versions.stdout.contains("  1.0.0\t") && versions.stdout.contains("* 2.1.0\t"), "\(versions.stdout)")

        // Rollback by hand: 1.0.0 on the database as it was before 2.1.0; what 2.1.0 wrote is kept aside.
        let rolled = try home.run(["apps", "rollback", "notes", "--data", home.data])
        #expect(rolled.status == 0 && rolled.stdout.contains("rolled notes back from 2.1.0 to 1.0.0"), "\(rolled.stderr)")
        #expect(try node.call("notes", "version", "").body == "\"1.0.0\"")
        #expect(try node.call("notes", "count", "").body == "3" && (try node.call("notes", "tags", "")).body == "0")
        let aside = try #require(rolled.stdout.split(separator: "snapshots/").last).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: home.data + "/apps/notes/snapshots/\(aside)/app.db"))
        #expect(try home.run(["apps", "rollback", "notes", "--data", home.data]).stderr.contains("no earlier installed version"))
        // Databases set aside by rollbacks are kept as versions are: the newest `[packages] keep_versions` (3).
        var last = aside
        for minor in 2...4 {
            #expect(try home.install(try home.pack("2.\(minor).0", tag: "r\(minor)")).status == 0)
            let back = try home.run(["apps", "rollback", "notes", "--data", home.data])
            #expect(back.status == 0, "\(back.stderr)")
            last = try #require(back.stdout.split(separator: "snapshots/").last).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let kept = try FileManager.default.contentsOfDirectory(atPath: home.data + "/apps/notes/snapshots").filter { $0.hasPrefix("rolled-back-from-") }
        #expect(kept.count == 3 && kept.contains(last) && !kept.contains(aside), "\(kept)")

        // The installed version is what the node runs after a restart, from its package verified again.
        node.stop()
        let restarted = try home.start()
        defer { restarted.stop() }
        #expect(try restarted.call("notes", "version", "").body == "\"1.0.0\"")
        #expect(try restarted.call("notes", "count", "").body == "3")
    }

    @Test func aStoppedNodeInstallsIntoItsDataDirectory() throws {
        let home = try Home()
        let package = try home.pack("1.0.0", tag: "offline")
        let offline = try home.run(["apps", "install", package, "--grant-requested", "--data", home.data,
                                    "--manifests", home.manifests, "--profiles", TestSupport.root + "/sandbox-profiles"])
        #expect(offline.status == 0 && offline.stdout.contains("installed notes 1.0.0"), "\(offline.stderr)")
        #expect(try home.audit().contains("app.install\tok"))
        // A package does not pick a profile that lets unlisted syscalls through; its code never runs under one.
        let debug = try home.run(["apps", "install", try home.pack("1.1.0", profile: "debug", tag: "debug"), "--data", home.data,
                                  "--manifests", home.manifests, "--profiles", TestSupport.root + "/sandbox-profiles"])
        #expect(debug.status == 1 && debug.stderr.contains("does not kill unlisted syscalls"), "\(debug.stderr)")
        // An app the node has without a pinned key (hello, from the manifests directory) is taken over by a package
        // only when the owner says so.
        let source = home.root + "/hello-src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: home.manifests + "/libhello.so", toPath: source + "/libhello.so")
        let helloManifest = try String(contentsOfFile: home.manifests + "/hello.toml", encoding: .utf8)
        try helloManifest.replacingOccurrences(of: "version = \"1.0.0\"", with: "version = \"1.1.0\"")
            .write(toFile: source + "/hello.toml", atomically: true, encoding: .utf8)
        #expect(try home.run(["pack", "--manifest", source + "/hello.toml", "--key", "mallory", "--output", home.root + "/hello.synapp"]).status == 0)
        let offlineArgs = ["--data", home.data, "--manifests", home.manifests, "--profiles", TestSupport.root + "/sandbox-profiles"]
        let takeover = try home.run(["apps", "install", home.root + "/hello.synapp"] + offlineArgs)
        #expect(takeover.status == 1 && takeover.stderr.contains("from the manifests directory") && takeover.stderr.contains("--new-developer"), "\(takeover.stderr)")
        let adopted = try home.run(["apps", "install", home.root + "/hello.synapp", "--new-developer"] + offlineArgs)
        #expect(adopted.status == 0 && adopted.stdout.contains("upgraded hello from 1.0.0 to 1.1.0"), "\(adopted.stderr)")
        let node = try home.start()
        defer { node.stop() }
        #expect(node.waitFor("event=started(app: \"notes\"", seconds: 30))
        #expect(try node.call("notes", "version", "").body == "\"1.0.0\"")
    }
}
