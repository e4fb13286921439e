import Foundation
import SynBroker
import SynConfig
import SynGateway
import SynRuntime
import SynSodium
import Testing

/// `/v1/admin`: only node owners, every action audited with the owner's key and the request id.
@Suite struct GatewayAdminTests {
    @Test func onlyOwnersAdministerAndEveryActionIsAudited() async throws {
        try await LiveNode.with { node in
            #expect(try await node.request("GET", "/v1/admin/apps").status == 401)
            let stranger = try GatewayTests.key(node, "stranger")
            let refused = try await node.request("GET", "/v1/admin/apps", sign: stranger)
            #expect(refused.status == 403 && refused.errorCode == "not_an_owner")

            let disabled = try await node.request("POST", "/v1/admin/apps/hello/disable", sign: node.owner,
                                                  headers: [("X-Request-Id", "disable-1")])
            #expect(disabled.status == 200 && disabled.json["state"] as? String == "disabled", "\(disabled.text)")
            // Persisted in node.toml, comments kept.
            let toml = try String(contentsOfFile: node.data + "/node.toml", encoding: .utf8)
            #expect(try NodeConfig.parse(toml, file: "node.toml").apps["hello"]?.enabled == false)
            #expect(toml.contains("# Syneroym node configuration"))
            let off = try await node.request("POST", "/v1/apps/hello/echo", body: "{}")
            #expect(off.status == 503 && off.errorCode == "app_disabled" && off.text.contains("apps.hello.enabled"), "\(off.text)")

            #expect(try await node.request("POST", "/v1/admin/apps/hello/enable", sign: node.owner).status == 200)
            for _ in 0..<500 where node.runtime.app("hello")?.state != "running" { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await node.request("POST", "/v1/apps/hello/echo", body: "{}").status == 200)
            #expect(try await node.request("POST", "/v1/admin/apps/hello/restart", sign: node.owner).status == 200)
            #expect(try await node.request("POST", "/v1/admin/apps/ghost/restart", sign: node.owner).status == 404)

            let audit = try await node.request("GET", "/v1/admin/audit?limit=50", sign: node.owner)
            let entries = try #require(audit.json["entries"] as? [[String: Any]])
            let owner = Base64URL.encode(node.owner.publicKey)
            let disable = try #require(entries.first { $0["action"] as? String == "app.disable" })
            #expect(disable["actor"] as? String == owner && (disable["cause"] as? String)?.contains("[request disable-1]") == true)
            for action in ["app.enable", "app.restart"] {
                #expect(entries.contains { $0["action"] as? String == action && $0["actor"] as? String == owner })
            }
            #expect(entries.contains { $0["action"] as? String == "admin" && $0["decision"] as? String == "denied" })

            let logs = try await node.request("GET", "/v1/admin/apps/hello/logs?lines=10", sign: node.owner)
            #expect((logs.json["lines"] as? [[String: Any]])?.isEmpty == false, "\(logs.text)")
            // A 4xx answer and a failed call are counted apart.
            #expect(try await node.request("POST", "/v1/apps/kit/no.such.method", body: "{}", sign: node.owner).status == 404)
            #expect(try await node.request("POST", "/v1/apps/hostile/null_deref", body: "{}").status == 502)
            let stats = try await node.request("GET", "/v1/admin/stats", sign: node.owner)
            let apps = stats.json["apps"] as? [String: [String: Any]] ?? [:]
            #expect(apps["hello"]?["calls"] as? Int ?? 0 >= 1)
            #expect(apps["kit"]?["client_errors"] as? Int == 1 && apps["kit"]?["errors"] as? Int == 0, "\(stats.text)")
            #expect(apps["hostile"]?["errors"] as? Int == 1 && apps["hostile"]?["client_errors"] as? Int == 0, "\(stats.text)")
        }
    }

    /// `apps restart` reads the app's node.toml section again: a grant taken away, then given back, takes effect at
    /// the restart, as does a new profile.
    @Test func restartReadsTheAppsGrantsAndProfileAgain() async throws {
        try await LiveNode.with { node in
            #expect(try await node.request("POST", "/v1/apps/store/put", body: #""k=v""#).text == "version 1")
            let path = node.data + "/node.toml"
            let original = try String(contentsOfFile: path, encoding: .utf8)
            guard let section = original.range(of: "[apps.store.grants]"),
                  let grant = original.range(of: "storage.kv = true", range: section.upperBound..<original.endIndex) else {
                Issue.record("no storage.kv grant for store in node.toml")
                return
            }
            try original.replacingCharacters(in: grant, with: "storage.kv = false").write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try await node.request("POST", "/v1/admin/apps/store/restart", sign: node.owner).status == 200)
            let denied = try await node.request("POST", "/v1/apps/store/put", body: #""k=w""#).text
            #expect(denied.hasPrefix("ERR -3 kv_put denied: storage.kv is not granted"), "\(denied)")
            // Given back, and the app moved to another profile.
            let swapped = original.replacingOccurrences(of: "[apps.store]\nenabled = true\nprofile = \"default\"",
                                                        with: "[apps.store]\nenabled = true\nprofile = \"gatewaytest\"")
            #expect(swapped != original)
            try swapped.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try await node.request("POST", "/v1/admin/apps/store/restart", sign: node.owner).status == 200)
            #expect(try await node.request("POST", "/v1/apps/store/put", body: #""k=x""#).text == "version 2")
            let apps = try await node.request("GET", "/v1/admin/apps", sign: node.owner)
            let store = (apps.json["apps"] as? [[String: Any]])?.first { $0["id"] as? String == "store" }
            #expect(store?["profile"] as? String == "gatewaytest", "\(apps.text)")
        }
    }
}

/// `syneroym apps add MANIFEST` adds an app to a running node: its section in node.toml with the grants it
/// requests, the manifest and library copied beside the others, and the app started, all audited.
@Suite struct AppsAddTests {
    @Test func anOwnerAddsAnAppToARunningNode() async throws {
        try await LiveNode.with { node in
            // An app built elsewhere, with its manifest beside it.
            let dir = node.root + "/incoming"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Paths.buildC("Tests/HostileApps/store.c", output: dir + "/libnotes.so", extra: ["-DAPP_ID=\"notes\""])
            try """
                [app]
                id = "notes"
                name = "Notes"
                version = "1"
                abi = 1
                library = "libnotes.so"
                [capabilities]
                storage.kv = true
                [methods]
                public = ["put", "get"]
                """.write(toFile: dir + "/notes.toml", atomically: true, encoding: .utf8)
            // Through the CLI, signing with the owner's key from a keyring of its own.
            let config = node.root + "/config"
            try FileManager.default.createDirectory(atPath: config + "/syneroym/keys", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: node.root + "/keys/owner.key", toPath: config + "/syneroym/keys/owner.key")
            let added = try Paths.cli(["apps", "add", dir + "/notes.toml", "--as", "owner", "--node", node.base],
                                         environment: ["XDG_CONFIG_HOME": config])
            #expect(added.status == 0, "\(added.output)")
            #expect(added.output.contains("notes: starting") || added.output.contains("notes: running"), "\(added.output)")
            #expect(added.output.contains("storage.kv = true"))
            #expect(try await node.request("POST", "/v1/apps/notes/put", body: #""k=v""#).text == "version 1")
            let toml = try String(contentsOfFile: node.data + "/node.toml", encoding: .utf8)
            #expect(toml.contains("[apps.notes]\nenabled = true"))
            #expect(FileManager.default.fileExists(atPath: node.root + "/manifests/notes.toml"))
            #expect(FileManager.default.fileExists(atPath: node.root + "/manifests/libnotes.so"))
            let audit = try await node.request("GET", "/v1/admin/audit?limit=20", sign: node.owner)
            #expect(audit.text.contains(#""action":"app.add""#), "\(audit.text)")
            // Twice is refused, and a non-owner cannot add anything.
            let again = try await node.request("POST", "/v1/admin/apps", body: #"{"manifest":"\#(dir)/notes.toml"}"#, sign: node.owner)
            #expect(again.status == 400 && again.text.contains("already on this node"), "\(again.text)")
            let stranger = try await node.request("POST", "/v1/admin/apps", body: #"{"manifest":"\#(dir)/notes.toml"}"#,
                                                  sign: try SigningKey.generate())
            #expect(stranger.status == 403)
        }
    }
}
