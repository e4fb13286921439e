import Foundation
import SynBroker
import SynRuntime
import SynSodium
import SynTestSupport
import Testing

/// Calls between apps on one node (PluginABI minor 1, `app_call`): relay apps built from `Tests/HostileApps/relay.c`
/// call each other through a live node. The target sees a verified caller (the calling app, or a person who
/// signed exactly that call); grants, cycles, depth, replays and forgeries are refused; the deadline is inherited;
/// a v1.0 app still loads.
@Suite struct AppCallTests {
    static let ids = ["relay_a", "relay_b", "relay_c", "relay_d", "relay_e"]

    /// relay_a may call relay_b's methods and relay_c's `call`; each relay may call the next one's; relay_b may
    /// call back relay_a (a cycle the node refuses). relay_b's calls may run 2.5 s; the others' 1.2 s.
    static func relays(dropFromNode: String? = nil) -> [LiveNode.ExtraApp] {
        let calls: [String: [String]] = [
            "relay_a": ["relay_b:*", "relay_c:call", "kit:apps.origin"],
            "relay_b": ["relay_a:whoami", "relay_c:call", "relay_c:whoami", "relay_c:spin"],
            "relay_c": ["relay_d:call"],
            "relay_d": ["relay_e:whoami"],
            "relay_e": [],
        ]
        let apps = ids.map { id in
            LiveNode.ExtraApp(id: id, source: "Tests/HostileApps/relay.c", defines: ["-DAPP_ID=\"\(id)\""], manifest: """
                [app]
                id = "\(id)"
                name = "Relay"
                version = "1"
                abi = 1
                library = "lib\(id).so"
                [sandbox]
                profile = "\(id)"
                [capabilities]
                identity.sign = true
                calls = [\((calls[id] ?? []).map { "\"\($0)\"" }.joined(separator: ", "))]
                [methods]
                public = ["whoami", "self"]
                """, limits: id == "relay_b" ? "call_timeout_ms = 2500\nmax_frame_kb = 4096\nmemory_mb = 128" : "call_timeout_ms = 1200")
        }
        let old = LiveNode.ExtraApp(id: "oldapp", source: "Tests/HostileApps/abi10_hello.c", manifest: """
            [app]
            id = "oldapp"
            name = "A v1.0 app"
            version = "1.0.0"
            abi = 1
            library = "liboldapp.so"
            [methods]
            public = ["hello"]
            """)
        return apps + [old]
    }

    static func call(_ node: LiveNode, _ app: String, _ method: String, _ body: String, as key: SigningKey?) async throws -> LiveNode.Reply {
        try await node.request("POST", "/v1/apps/\(app)/\(method)", body: body, sign: key)
    }

    /// What relay_a's `call` sends: the target, its method, a signed call (or nothing) and the body.
    static func relay(_ app: String, _ method: String, behalf: String = "", body: String = "") -> String {
        "\"" + Hex.encode(Array("\(app)\n\(method)\n\(behalf)\n\(body)".utf8)) + "\""
    }

    /// A person's signed call, as docs/abi.md tells a client to make it: for `node`, passed on by app `via`.
    static func signed(by key: SigningKey, node: LiveNode, via: String = "relay_a", app: String, method: String, body: String,
                       created: Int64? = nil, nonce: String = "n-" + Hex.encode(SecureRandom.bytes(8)), keyOverride: [UInt8]? = nil,
                       nodeID: String? = nil) -> String {
        let when = created ?? Int64(Date().timeIntervalSince1970)
        let digest = Hex.encode(Hash.sha256(Array(body.utf8)))
        let id = nodeID ?? Base64URL.encode(node.runtime.broker.nodePublicKey)
        let message = Array("\(id)\n\(via)\n\(app)\n\(method)\n\(digest)\n\(when)\n\(nonce)".utf8)
        let signature = key.sign(domain: .appCall, message)
        return "[\"\(Base64URL.encode(keyOverride ?? key.publicKey))\",\(when),\"\(nonce)\",\"\(Base64URL.encode(signature))\"]"
    }

    @Test func theTargetSeesTheCallingAppOrThePersonWhoSigned() async throws {
        try await LiveNode.with(extra: Self.relays()) { node in
            let ada = try GatewayTests.key(node, "ada")
            let aKey = try await Self.call(node, "relay_a", "self", "", as: nil).text
            // As itself: relay_b sees relay_a as the origin and relay_a's own key as the caller.
            let asApp = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "whoami"), as: ada)
            #expect(asApp.status == 200, "\(asApp.text)")
            #expect(asApp.text == "200\nrelay_a\n\(aKey)")
            // For Ada, who signed exactly this call: relay_b sees Ada.
            let behalf = Self.signed(by: ada, node: node, app: "relay_b", method: "whoami", body: "")
            let forAda = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "whoami", behalf: behalf), as: ada)
            #expect(forAda.text == "200\nrelay_a\n\(Hex.encode(ada.publicKey))")
            // A client's own call has no origin.
            let direct = try await Self.call(node, "relay_b", "whoami", "", as: ada)
            #expect(direct.text == "-\n\(Hex.encode(ada.publicKey))")
            // The audit log says who acted for whom.
            let entries = node.runtime.broker.audit.recent(50).filter { $0.action == "app_call whoami" }
            #expect(entries.contains { $0.actor == "relay_a" && $0.app == "relay_b" && $0.decision == "200" })
            #expect(entries.contains { $0.actor == "relay_a for \(Base64URL.encode(ada.publicKey))" && $0.app == "relay_b" })
        }
    }

    @Test func noAppCanActForSomeoneWhoDidNotSignThatCall() async throws {
        try await LiveNode.with(extra: Self.relays()) { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl")
            func attempt(_ behalf: String, method: String = "whoami", body: String = "") async throws -> String {
                let reply = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", method, behalf: behalf, body: body), as: ada)
                return reply.text
            }
            // Carl signs, but the call names Ada's key: a forged author.
            let forged = try await attempt(Self.signed(by: carl, node: node, app: "relay_b", method: "whoami", body: "", keyOverride: ada.publicKey))
            #expect(forged.hasPrefix("-3\n") && forged.contains("does not verify"), "\(forged)")
            // Signed for another body, another method, another app.
            let tampered = try await attempt(Self.signed(by: ada, node: node, app: "relay_b", method: "whoami", body: "x"), body: "y")
            #expect(tampered.hasPrefix("-3\n"), "\(tampered)")
            let otherMethod = try await attempt(Self.signed(by: ada, node: node, app: "relay_b", method: "self", body: ""))
            #expect(otherMethod.hasPrefix("-3\n"), "\(otherMethod)")
            let otherApp = try await attempt(Self.signed(by: ada, node: node, app: "relay_c", method: "whoami", body: ""))
            #expect(otherApp.hasPrefix("-3\n"), "\(otherApp)")
            // Too old, and from the future.
            let old = try await attempt(Self.signed(by: ada, node: node, app: "relay_b", method: "whoami", body: "", created: Int64(Date().timeIntervalSince1970) - 400))
            #expect(old.hasPrefix("-3\n") && old.contains("old"), "\(old)")
            let future = try await attempt(Self.signed(by: ada, node: node, app: "relay_b", method: "whoami", body: "", created: Int64(Date().timeIntervalSince1970) + 120))
            #expect(future.hasPrefix("-3\n") && future.contains("future"), "\(future)")
            // A good signature acts once: the same signed call again is a replay.
            let once = Self.signed(by: ada, node: node, app: "relay_b", method: "whoami", body: "")
            #expect(try await attempt(once).hasPrefix("200\n"))
            let replay = try await attempt(once)
            #expect(replay.hasPrefix("-3\n") && replay.contains("already used"), "\(replay)")
            // Signed for another node, or for another app to pass on.
            let otherNode = try await attempt(Self.signed(by: ada, node: node, app: "relay_b", method: "whoami", body: "", nodeID: Base64URL.encode(carl.publicKey)))
            #expect(otherNode.hasPrefix("-3\n"), "\(otherNode)")
            let otherVia = try await attempt(Self.signed(by: ada, node: node, via: "kit", app: "relay_b", method: "whoami", body: ""))
            #expect(otherVia.hasPrefix("-3\n"), "\(otherVia)")
            // Signed before the node started: the replay guard, in memory, cannot vouch for it.
            let beforeStart = try await attempt(Self.signed(by: ada, node: node, app: "relay_b", method: "whoami", body: "",
                                                            created: node.runtime.broker.startedSeconds - 2))
            #expect(beforeStart.hasPrefix("-3\n") && beforeStart.contains("before the node started"), "\(beforeStart)")
            // One call may call other apps 32 times (each is audited); the 33rd is refused.
            let storm = try await Self.call(node, "relay_a", "storm", "\"" + Hex.encode(Array("relay_b\nwhoami\n40".utf8)) + "\"", as: ada)
            #expect(storm.text.hasPrefix("32\n-4\n") && storm.text.contains("at most 32 times"), "\(storm.text)")
            // Not a signed call at all.
            let garbage = try await attempt("{\"key\":\"me\"}")
            #expect(garbage.hasPrefix("-2\n"), "\(garbage)")
        }
    }

    @Test func ungrantedMethodsCyclesAndDeepChainsAreRefused() async throws {
        // node.toml withholds relay_a's grant of relay_c:call (the manifest asks for it).
        try await LiveNode.with(extra: Self.relays(), editNodeToml: { $0.replacingOccurrences(of: "calls = [\"relay_b:*\", \"relay_c:call\", \"kit:apps.origin\"]", with: "calls = [\"relay_b:*\", \"kit:apps.origin\"]") }) { node in
            let ada = try GatewayTests.key(node, "ada")
            // Not in the manifest: the message names the manifest's key.
            let notAsked = try await Self.call(node, "relay_a", "call", Self.relay("relay_d", "whoami"), as: ada).text
            #expect(notAsked.hasPrefix("-3\n") && notAsked.contains("[capabilities]") && notAsked.contains("relay_d:whoami"), "\(notAsked)")
            // Asked, not granted: the message names node.toml's key.
            let notGranted = try await Self.call(node, "relay_a", "call", Self.relay("relay_c", "call"), as: ada).text
            #expect(notGranted.hasPrefix("-3\n") && notGranted.contains("[apps.relay_a.grants]"), "\(notGranted)")
            // relay_a → relay_b → relay_a is a cycle: relay_b's call fails, and relay_b says so (502).
            let cycle = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "call", body: Self.relay("relay_a", "whoami")), as: ada).text
            #expect(cycle.hasPrefix("502\n-3\n") && cycle.contains("relay_a → relay_b → relay_a is a cycle"), "\(cycle)")
            // Four apps in a chain is the limit: relay_b → relay_c → relay_d → relay_e answers ...
            let four = Self.relay("relay_c", "call", body: Self.relay("relay_d", "call", body: Self.relay("relay_e", "whoami")))
            let eKey = try await Self.call(node, "relay_e", "self", "", as: nil).text
            let allowed = try await Self.call(node, "relay_b", "call", four, as: ada).text
            #expect(allowed == "200\n200\n200\nrelay_d\n\(try await Self.call(node, "relay_d", "self", "", as: nil).text)", "\(allowed)")
            #expect(!eKey.isEmpty)
            // ... and from relay_a, five: relay_d may not call on.
            let five = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "call", body: four), as: ada).text
            #expect(five.hasPrefix("200\n200\n502\n-3\n") && five.contains("deeper than 4 apps"), "\(five)")
        }
    }

    /// relay_b may run 2.5 s, but a call from relay_a (1.2 s) must answer by relay_a's deadline (less 200 ms), and so
    /// must the calls it makes in turn: relay_b's call to a spinning relay_c gives up 200 ms before that, in time for
    /// relay_b to answer relay_a. Without the inherited deadline relay_b would wait for relay_c's own 1.2 s and
    /// relay_a would time out first. relay_b itself is not killed for relay_a's deadline: only its own stops it.
    @Test func theCallersDeadlineBindsTheTarget() async throws {
        try await LiveNode.with(extra: Self.relays()) { node in
            let ada = try GatewayTests.key(node, "ada")
            let nested = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "call", body: Self.relay("relay_c", "spin")), as: ada)
            #expect(nested.text.hasPrefix("502\n-5\n"), "\(nested.text)")
            // relay_a's own wait ends at its deadline: a target that never answers cannot hold it.
            let stuck = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "spin"), as: ada)
            #expect(stuck.text.hasPrefix("-5\n"), "\(stuck.text)")
            // relay_b (one instance) answers again once its own 2.5 s are over.
            let after = try await Self.call(node, "relay_b", "whoami", "", as: ada)
            #expect(after.status == 200, "\(after.text)")
        }
    }

    /// docs/abi.md's Python client, as printed there, signs a call the node accepts (PyNaCl; skipped without it
    /// unless SYN_REQUIRE_INTEROP=1).
    @Test func thePythonClientInTheABIDocSignsACallTheNodeAccepts() async throws {
        let doc = try String(contentsOfFile: Paths.root + "/docs/abi.md", encoding: .utf8)
        let section = try #require(doc.range(of: "## 8. A person's signed call")).upperBound
        let start = try #require(doc.range(of: "```python\n", range: section..<doc.endIndex)).upperBound
        let end = try #require(doc.range(of: "```", range: start..<doc.endIndex)).lowerBound
        let client = String(doc[start..<end])
        let available = (try? ProcessLauncher.run("/usr/bin/env", ["python3", "-c", "import nacl.signing"]))?.status == 0
        if !available {
            #expect(ProcessInfo.processInfo.environment["SYN_REQUIRE_INTEROP"] != "1", "python3 with PyNaCl is not installed (pip install pynacl)")
            return
        }
        try await LiveNode.with(extra: Self.relays()) { node in
            let script = client + """
                key = nacl.signing.SigningKey.generate()
                print(bytes(key.verify_key).hex())
                print(signed_call(key, "\(Base64URL.encode(node.runtime.broker.nodePublicKey))", "relay_a", "relay_b", "whoami", b""))
                """
            let run = try ProcessLauncher.run("/usr/bin/env", ["python3", "-c", script])
            try #require(run.status == 0, "\(run.output)")
            let lines = run.output.split(separator: "\n").map(String.init)
            try #require(lines.count == 2, "\(run.output)")
            let ada = try GatewayTests.key(node, "ada")
            let reply = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "whoami", behalf: lines[1]), as: ada)
            #expect(reply.text == "200\nrelay_a\n\(lines[0])", "\(reply.text)")
        }
    }

    /// `syneroym sign call` makes the on_behalf a person gives an app: the node accepts it once.
    @Test func theCLISignsACallTheNodeAcceptsOnce() async throws {
        try await LiveNode.with(extra: Self.relays()) { node in
            let config = node.root + "/xdg"
            let env = ["XDG_CONFIG_HOME": config]
            #expect(try CLI.syneroym(["keys", "new", "erin"], environment: env).status == 0)
            let erin = try KeyFile.load(path: config + "/syneroym/keys/erin.key")
            let signed = try CLI.syneroym(["sign", "call", "--as", "erin", "--node", Base64URL.encode(node.runtime.broker.nodePublicKey),
                                           "--via", "relay_a", "--app", "relay_b", "--method", "whoami"], environment: env)
            try #require(signed.status == 0, "\(signed.stderr)")
            let behalf = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let ada = try GatewayTests.key(node, "ada")
            let first = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "whoami", behalf: behalf), as: ada).text
            #expect(first == "200\nrelay_a\n\(Hex.encode(erin.publicKey))", "\(first)")
            let again = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "whoami", behalf: behalf), as: ada).text
            #expect(again.hasPrefix("-3\n") && again.contains("already used"), "\(again)")
        }
    }

    /// A target's answer larger than the caller's worker takes is refused as too large; the caller lives on.
    @Test func anAnswerTooLargeForTheCallerIsRefusedNotDelivered() async throws {
        try await LiveNode.with(extra: Self.relays()) { node in
            let ada = try GatewayTests.key(node, "ada")
            let big = try await Self.call(node, "relay_a", "call", Self.relay("relay_b", "big"), as: ada).text
            #expect(big.hasPrefix("-8\n") && big.contains("limits.max_frame_kb"), "\(big.prefix(300))")
            #expect(try await Self.call(node, "relay_a", "whoami", "", as: ada).status == 200)
            #expect(node.runtime.app("relay_a")?.state == "running")
        }
    }

    /// An app calls other apps at most `app_calls_per_minute` times a minute (3,000 unless node.toml says; here
    /// 100), bursts included: each call is audited.
    @Test func callsBetweenAppsAreRateLimited() async throws {
        let limited = { (toml: String) in toml.replacingOccurrences(of: "[apps.relay_a]\n", with: "[apps.relay_a]\napp_calls_per_minute = 100\n") }
        try await LiveNode.with(extra: Self.relays(), editNodeToml: limited) { node in
            let ada = try GatewayTests.key(node, "ada")
            var made = 0, refused = false, last = ""
            let start = Date()
            for _ in 0..<8 where !refused {
                let storm = try await Self.call(node, "relay_a", "storm", "\"" + Hex.encode(Array("relay_b\nwhoami\n32".utf8)) + "\"", as: ada).text
                let parts = storm.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
                made += Int(parts.first ?? "") ?? 0
                refused = parts.count > 1 && parts[1] == "-4"
                last = storm
            }
            #expect(refused, "\(made) calls and no refusal")
            // The burst of 100, and what refilled meanwhile (100 a minute), however slowly the machine ran.
            let refilled = Int((Date().timeIntervalSince(start) * 100 / 60).rounded(.up))
            #expect(made >= 100 && made <= 100 + refilled + 1, "\(made) (\(last))")
            // The refusal names the key that raises it.
            #expect(last.contains("app_calls_per_minute"), "\(last)")
        }
    }

    @Test func aVersion10AppStillLoads() async throws {
        try await LiveNode.with(extra: Self.relays()) { node in
            let reply = try await Self.call(node, "oldapp", "hello", "", as: nil)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.text.hasPrefix("v1.0 app, host minor 1"), "\(reply.text)")
            #expect(node.runtime.app("oldapp")?.state == "running")
        }
    }
}
