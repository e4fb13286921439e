import Foundation
import SynTestSupport
import Testing

/// A node directory for the multi-node app tests: hello and the shipped `app`, its federation listening, owned by
/// the key `default` of `home`'s keyring; its data directory and the invite other nodes add it by.
struct LinkedNode {
    let dir: String
    let data: String
    let invite: String
    let app: String
    /// The node's id (the invite's part before '@').
    var id: String { String(invite.prefix { $0 != "@" }) }

    init(_ label: String, app: String, home: [String: String], listen: String? = nil, federation: String = "") throws {
        dir = try TestSupport.helloNodeDirectory(label)
        self.app = app
        try FileManager.default.copyItem(atPath: TestSupport.root + "/manifests/\(app).toml", toPath: dir + "/manifests/\(app).toml")
        data = dir + "/data"
        let initialized = try CLI.syneroym(["init", "--data", data, "--owner", "default", "--manifests", dir + "/manifests"], environment: home)
        try #require(initialized.status == 0, "\(initialized.stderr)")
        let toml = try String(contentsOfFile: data + "/node.toml", encoding: .utf8)
        let address = try listen ?? "127.0.0.1:\(FederationTests.freePort())"
        try (toml + "\n[federation]\nlisten = \"\(address)\"\n" + federation).write(toFile: data + "/node.toml", atomically: true, encoding: .utf8)
        let made = try CLI.syneroym(["peers", "invite", "--data", data])
        try #require(made.status == 0, "\(made.stderr)")
        invite = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `syneroym run` on it (inside network namespace `netns`, if given).
    func run(netns: String? = nil) throws -> ProcessNode {
        try ProcessNode.launch(["run", "--manifests", dir + "/manifests", "--profiles", TestSupport.root + "/sandbox-profiles",
                                "--data", data, "--listen", "127.0.0.1:0"], data: data, apps: ["hello", app], netns: netns)
    }
}
