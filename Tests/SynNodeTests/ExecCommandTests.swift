import Foundation
import Synchronization
import SynTestSupport
import Testing

/// `syneroym exec` as an app developer runs it: the real binary, real manifests, real workers.
@Suite struct ExecCommandTests {
    /// A manifest for `library` in a fresh directory, with the library copied beside it.
    static func manifest(id: String, library: String, extra: String = "") throws -> String {
        let dir = TestSupport.scratch + "/exec-\(id)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let name = (library as NSString).lastPathComponent
        try FileManager.default.copyItem(atPath: library, toPath: dir + "/" + name)
        let text = """
            [app]
            id = "\(id)"
            name = "\(id)"
            version = "1.0.0"
            abi = 1
            library = "\(name)"
            \(extra)
            [sandbox]
            profile = "default"
            """
        try text.write(toFile: dir + "/app.toml", atomically: true, encoding: .utf8)
        return dir + "/app.toml"
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func okCallPrintsTheAppsJSONAndExitsZero() throws {
        let r = try CLI.syneroym(["exec", "--manifest", "manifests/hello.toml", "hello", #"{"name":"Grace"}"#])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try Self.json(r.stdout)
        #expect(object["outcome"] as? String == "ok")
        #expect(object["status"] as? Int == 200)
        #expect((object["body"] as? [String: Any])?["greeting"] as? String == "Hello, Grace!")
    }

    @Test func capabilitiesGoThroughTheBrokerAndDenialsNameTheKey() throws {
        let r = try CLI.syneroym(["exec", "--manifest", "manifests/hello.toml", "kv"])
        #expect(r.status == 0, "\(r.stderr)")
        let body = try #require(try Self.json(r.stdout)["body"] as? [String: Any])
        #expect(body["status"] as? Int == -3)
        #expect(body["last_error"] as? String
            == "kv_get denied: storage.kv is not requested by app 'hello': add `storage.kv = true` under [capabilities] in manifests/hello.toml")
    }

    @Test func aStoppedAppExitsThreeWithItsOutcome() throws {
        let lib = try TestSupport.buildC("Tests/HostileApps/hostile.c", name: "hostile-exec")
        let manifest = try Self.manifest(id: "hostile", library: lib)
        let r = try CLI.syneroym(["exec", "--manifest", manifest, "socket_inet"])
        #expect(r.status == 3)
        let object = try Self.json(r.stdout)
        #expect(object["outcome"] as? String == "seccomp_violation")
        #expect(object["detail"] as? String == "socket")
        #expect(object["status"] is NSNull && object["body"] is NSNull)
    }

    @Test func aChecksumMismatchIsBadInput() throws {
        let lib = try TestSupport.buildC("Plugins/Examples/hello-c/hello.c", name: "hello-sum")
        let manifest = try Self.manifest(id: "hello", library: lib, extra: "sha256 = \"\(String(repeating: "0", count: 64))\"")
        let r = try CLI.syneroym(["exec", "--manifest", manifest, "hello"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("sha256"))
    }

    @Test func aBadProfileNamesFileLineAndKey() throws {
        let profile = TestSupport.scratch + "/bad-profile-\(UInt32.random(in: 0...UInt32.max)).toml"
        try """
            [profile]
            name = "bad"

            [limits]
            memory_mb = -5
            """.write(toFile: profile, atomically: true, encoding: .utf8)
        let r = try CLI.syneroym(["exec", "--manifest", "manifests/hello.toml", "--profile", profile, "hello"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(profile):5"))
        #expect(r.stderr.contains("limits.memory_mb"))
    }

    @Test func anAppIDMismatchIsRefused() throws {
        let lib = try TestSupport.buildC("Plugins/Examples/hello-c/hello.c", name: "hello-id")
        let manifest = try Self.manifest(id: "not-hello", library: lib)
        let r = try CLI.syneroym(["exec", "--manifest", manifest, "hello"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("'hello'") && r.stderr.contains("'not-hello'"))
    }

    /// `exec` finds the shipped profiles from any working directory, with a manifest anywhere.
    @Test func execFindsTheShippedProfilesFromAnywhere() throws {
        let dir = TestSupport.scratch + "/exec-anywhere-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/app", withIntermediateDirectories: true)
        let lib = try TestSupport.buildC("Plugins/Examples/hello-c/hello.c", name: "hello-anywhere")
        try FileManager.default.copyItem(atPath: lib, toPath: dir + "/app/libhello.so")
        try FileManager.default.copyItem(atPath: TestSupport.root + "/manifests/hello.toml", toPath: dir + "/app/hello.toml")
        let r = try CLI.syneroym(["exec", "--manifest", dir + "/app/hello.toml", "hello", #"{"name":"Ada"}"#], directory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""outcome": "ok""#), "\(r.stdout)")
    }
}
