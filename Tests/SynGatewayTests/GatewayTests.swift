import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SynGateway
import SynRuntime
import SynHTTPSig
import SynSodium
import Testing

/// The real gateway over loopback, in this process, in front of real sandboxed workers.
@Suite struct GatewayTests {
    @Test func publicCallsHealthAppsAndRequestIDs() async throws {
        try await LiveNode.with { node in
            let echo = try await node.request("POST", "/v1/apps/hello/echo", body: #"{"x":[1,2]}"#,
                                              headers: [("X-Request-Id", "client-chosen-1")])
            #expect(echo.status == 200 && echo.text == #"{"x":[1,2]}"#)
            #expect(echo.headers["x-request-id"] == "client-chosen-1")
            #expect(echo.headers["content-type"] == "application/json")
            // An id that is not 1-128 of [A-Za-z0-9._:-] is replaced, never echoed.
            let odd = try await node.request("GET", "/v1/health", headers: [("X-Request-Id", "bad id with spaces")])
            #expect(odd.status == 200 && odd.headers["x-request-id"] != nil && odd.headers["x-request-id"] != "bad id with spaces")
            #expect(odd.json["request_id"] as? String == odd.headers["x-request-id"])
            let apps = try await node.request("GET", "/v1/apps")
            let list = try #require(apps.json["apps"] as? [[String: Any]])
            let hello = try #require(list.first { $0["id"] as? String == "hello" })
            #expect(hello["state"] as? String == "running" && hello["public_methods"] as? [String] == ["hello", "echo"])
            let metrics = try await node.request("GET", "/metrics")
            #expect(metrics.text.contains("syneroym_http_requests_total") && metrics.text.contains("syneroym_app_calls_total"))
        }
    }

    @Test func errorsAreJSONWithTheRequestID() async throws {
        try await LiveNode.with { node in
            for (method, path, body, status, code) in [
                ("POST", "/v1/apps/nope/echo", "", 404, "unknown_app"),
                ("POST", "/v1/apps/hello/Bad%20Method", "", 400, "bad_method"),
                ("POST", "/v1/apps/hello/echo", "{not json", 400, "bad_json"),
                ("GET", "/v1/nowhere", "", 404, "no_route"),
            ] {
                let r = try await node.request(method, path, body: body)
                #expect(r.status == status && r.errorCode == code, "\(path): \(r.status) \(r.text)")
                #expect(r.json["request_id"] as? String == r.headers["x-request-id"])
                #expect((r.json["error"] as? [String: Any])?["message"] is String)
            }
        }
    }

    @Test func onlyPublicMethodsAcceptUnsignedRequests() async throws {
        try await LiveNode.with { node in
            let unsigned = try await node.request("POST", "/v1/apps/hello/whoami", body: "{}")
            #expect(unsigned.status == 401 && unsigned.errorCode == "signature_required")
            #expect(unsigned.headers["www-authenticate"]?.contains("Signature") == true)
            // Signed: the verified key is the caller the app sees.
            let key = try Self.key(node, "caller")
            let signed = try await node.request("POST", "/v1/apps/hello/whoami", body: "{}", sign: key)
            #expect(signed.status == 200 && signed.text == #"{"caller":"\#(Hex.encode(key.publicKey))"}"#, "\(signed.text)")
            // Public methods see an anonymous caller when unsigned.
            #expect(try await node.request("POST", "/v1/apps/hello/echo", body: "{}").status == 200)
        }
    }

    @Test func badSignaturesAndReplaysAreRefused() async throws {
        try await LiveNode.with { node in
            let key = try Self.key(node, "caller")
            let url = node.base + "/v1/apps/hello/whoami"
            let signed = try RequestSigner(key: key).sign(method: "POST", url: url, body: Array("{}".utf8),
                                                          created: Int64(Date().timeIntervalSince1970))
            func send(_ body: String, _ fields: [SynHTTPSig.HTTPField]) async throws -> LiveNode.Reply {
                var request = URLRequest(url: try #require(URL(string: url)))
                request.httpMethod = "POST"
                request.httpBody = Data(body.utf8)
                for f in fields { request.setValue(f.value, forHTTPHeaderField: f.name) }
                return try await LiveNode.send(request)
            }
            #expect(try await send("{}", signed.fields).status == 200)
            let replay = try await send("{}", signed.fields)
            #expect(replay.status == 401 && replay.errorCode == "signature_replay", "\(replay.text)")
            let fresh = try RequestSigner(key: key).sign(method: "POST", url: url, body: Array("{}".utf8),
                                                         created: Int64(Date().timeIntervalSince1970))
            let tampered = try await send(#"{"x":1}"#, fresh.fields)
            #expect(tampered.status == 401 && tampered.errorCode == "signature_digest_mismatch", "\(tampered.text)")
            let stale = try RequestSigner(key: key).sign(method: "POST", url: url, body: Array("{}".utf8),
                                                         created: Int64(Date().timeIntervalSince1970) - 301)
            #expect(try await send("{}", stale.fields).errorCode == "signature_stale")
            // A signature must verify even on a public method: it is never downgraded to anonymous.
            let forged = fresh.fields.map { f in
                f.name == "Signature" ? SynHTTPSig.HTTPField(name: f.name, value: "sig1=:" + String(repeating: "A", count: 86) + "==:") : f
            }
            #expect(try await send("{}", forged).status == 401)
        }
    }

    @Test func limitsAnswer413503504And502() async throws {
        try await LiveNode.with(gateway: "max_body_kb = 1\nretry_after_s = 7", limits: "call_timeout_ms = 8000\ninstances = 1\nqueue_depth = 0") { node in
            let big = try await node.request("POST", "/v1/apps/hello/echo", body: "[" + String(repeating: "1,", count: 600) + "1]")
            #expect(big.status == 413 && big.errorCode == "body_too_large")
            // The only instance is busy spinning (for the 8 s call timeout: time enough to see it busy under the whole
            // suite's load, which 4 s once was not) and nothing may queue: the next call is told to come back.
            let spinning = Task { try await node.request("POST", "/v1/apps/hostile/spin", body: "{}") }
            for _ in 0..<1600 where node.runtime.app("hostile")?.busyInstances != 1 { try await Task.sleep(for: .milliseconds(5)) }
            let busy = try await node.request("POST", "/v1/apps/hostile/ping", body: "{}")
            #expect(busy.status == 503 && busy.errorCode == "app_busy" && busy.headers["retry-after"] == "7", "\(busy.text)")
            // The spin outlives call_timeout_ms: the worker is killed and the caller gets 504.
            let timedOut = try await spinning.value
            #expect(timedOut.status == 504 && timedOut.errorCode == "call_timeout", "\(timedOut.text)")
            // A worker dying mid-call is 502 with its classified death.
            for _ in 0..<1000 where node.runtime.app("hostile")?.state != "running" { try await Task.sleep(for: .milliseconds(5)) }
            let died = try await node.request("POST", "/v1/apps/hostile/null_deref", body: "{}")
            #expect(died.status == 502 && died.errorCode == "worker_died" && died.text.contains("crash"), "\(died.text)")
        }
    }

    @Test func theGatewayTimeoutIsItsOwn() async throws {
        try await LiveNode.with(gateway: "request_timeout_ms = 200", limits: "call_timeout_ms = 3000") { node in
            let r = try await node.request("POST", "/v1/apps/hostile/spin", body: "{}")
            #expect(r.status == 504 && r.errorCode == "gateway_timeout" && r.text.contains("request_timeout_ms"), "\(r.text)")
        }
    }

    static func key(_ node: LiveNode, _ name: String) throws -> SigningKey {
        try KeyFile.loadOrCreate(path: node.root + "/keys/\(name).key").key
    }
}
