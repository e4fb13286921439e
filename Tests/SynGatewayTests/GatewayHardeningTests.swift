import Foundation
import SynHTTPSig
import SynSodium
import Testing

/// What clients written to attack the gateway did, each now refused or contained.
@Suite(.serialized) struct GatewayHardeningTests {
    /// One signed POST, sent raw from `source` with the `Host` it was signed for.
    static func signedCall(_ node: LiveNode, from source: String, key: SigningKey, path: String = "/v1/apps/hello/echo",
                           authority: String? = nil, created: Int64? = nil, scheme: String = "http",
                           forwardedFor: String? = nil) async throws -> RawConnection.Response {
        let host = authority ?? "127.0.0.1:\(node.port)"
        let signed = try RequestSigner(key: key).sign(method: "POST", url: "\(scheme)://\(host)\(path)", body: Array("{}".utf8),
                                                      created: created ?? Int64(Date().timeIntervalSince1970))
        let connection = try RawConnection(port: node.port, from: source)
        try connection.send(RawConnection.request("POST", path, body: "{}",
                                                  headers: signed.fields.map { ($0.name, $0.value) } + [("Content-Type", "application/json")]
                                                      + (forwardedFor.map { [("X-Forwarded-For", $0)] } ?? []),
                                                  host: host))
        return try await connection.response()
    }

    static func errorCode(_ r: RawConnection.Response) -> String? {
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any]
        return (json?["error"] as? [String: Any])?["code"] as? String
    }

    /// Seen: a client signing with keys it made itself, `created` near the future limit, filled the replay cache
    /// in about 6 s on a route to an app that does not exist, and every signed call, the owner's included, got
    /// 503 `signature_cache_full` for ten minutes.
    @Test func aSignedFloodLocksOutOnlyTheClientThatSendsIt() async throws {
        try await LiveNode.with(gateway: "replay_cache_entries = 1000\nreplay_entries_per_client = 40") { node in
            let ahead = Int64(Date().timeIntervalSince1970) + 25
            // To an app that does not exist: 404 before any signature work, nothing remembered.
            for _ in 0..<60 {
                let r = try await Self.signedCall(node, from: "127.0.0.2", key: try SigningKey.generate(), path: "/v1/apps/nope/x", created: ahead)
                #expect(r.status == 404 && Self.errorCode(r) == "unknown_app", "\(r.body)")
            }
            // To a real app, each with a fresh key: the client's share (40 entries, 2 a request) runs out, for it alone.
            var statuses: [Int] = []
            for _ in 0..<30 {
                statuses.append(try await Self.signedCall(node, from: "127.0.0.2", key: try SigningKey.generate(), created: ahead).status)
            }
            #expect(statuses.prefix(20).allSatisfy { $0 == 200 }, "\(statuses)")
            #expect(statuses.suffix(10).allSatisfy { $0 == 429 }, "\(statuses)")
            let refused = try await Self.signedCall(node, from: "127.0.0.2", key: try SigningKey.generate())
            #expect(Self.errorCode(refused) == "signature_client_budget", "\(refused.body)")
            // Another client and the owner, even from the flooding address, still get through.
            #expect(try await Self.signedCall(node, from: "127.0.0.3", key: try SigningKey.generate()).status == 200)
            #expect(try await Self.signedCall(node, from: "127.0.0.2", key: node.owner).status == 200)
            #expect(try await node.request("GET", "/v1/admin/apps", sign: node.owner).status == 200)
            // Dated more than 30 s ahead: refused outright, so no entry outlives the window by more than that.
            let early = try await Self.signedCall(node, from: "127.0.0.4", key: try SigningKey.generate(),
                                                  created: Int64(Date().timeIntervalSince1970) + 120)
            #expect(early.status == 401 && Self.errorCode(early) == "signature_stale", "\(early.body)")
        }
    }

    /// Behind a reverse proxy every request comes from the proxy's address. From a `[gateway] trusted_proxies`
    /// address, a request counts against the client its `X-Forwarded-For` names, so one flooding client behind the
    /// proxy locks out only itself; from any other address, the header is the sender's words and changes nothing.
    @Test func behindATrustedProxyEachClientHasItsOwnShare() async throws {
        try await LiveNode.with(gateway: "replay_cache_entries = 1000\nreplay_entries_per_client = 40\ntrusted_proxies = [\"127.0.0.1\"]") { node in
            var statuses: [Int] = []
            for _ in 0..<30 {
                statuses.append(try await Self.signedCall(node, from: "127.0.0.1", key: try SigningKey.generate(),
                                                          forwardedFor: "198.51.100.9, 203.0.113.5").status)
            }
            #expect(statuses.prefix(20).allSatisfy { $0 == 200 } && statuses.suffix(10).allSatisfy { $0 == 429 }, "\(statuses)")
            // Another client behind the same proxy still gets through; so does one whose header names the proxy last.
            #expect(try await Self.signedCall(node, from: "127.0.0.1", key: try SigningKey.generate(), forwardedFor: "203.0.113.6").status == 200)
            #expect(try await Self.signedCall(node, from: "127.0.0.1", key: try SigningKey.generate(), forwardedFor: "203.0.113.7, 127.0.0.1").status == 200)
            // A nearest entry that is not an address counts against one shared bucket, not the proxy's own share;
            // a header longer than any proxy writes is read from its end.
            for _ in 0..<25 {
                _ = try await Self.signedCall(node, from: "127.0.0.1", key: try SigningKey.generate(), forwardedFor: "10.0.0.1:8080")
            }
            #expect(try await Self.signedCall(node, from: "127.0.0.1", key: try SigningKey.generate(), forwardedFor: "10.0.0.1:8080").status == 429)
            let long = Array(repeating: "192.0.2.1", count: 900).joined(separator: ", ") + ", 203.0.113.8"
            #expect(try await Self.signedCall(node, from: "127.0.0.1", key: try SigningKey.generate(), forwardedFor: long).status == 200)
            // An untrusted sender cannot spread its load by naming others.
            var own: [Int] = []
            for n in 0..<30 {
                own.append(try await Self.signedCall(node, from: "127.0.0.2", key: try SigningKey.generate(), forwardedFor: "203.0.113.\(100 + n)").status)
            }
            #expect(own.suffix(10).allSatisfy { $0 == 429 }, "\(own)")
        }
    }

    /// Seen: a request signed with `Host: victim.example` was accepted, so a request signed for one node could be
    /// replayed to another.
    @Test func aRequestSignedForAnotherNodeIsRefused() async throws {
        try await LiveNode.with(gateway: #"names = ["guild.example"]"#) { node in
            let key = try SigningKey.generate()
            let elsewhere = try await Self.signedCall(node, from: "127.0.0.1", key: key, authority: "victim.example")
            #expect(elsewhere.status == 401 && Self.errorCode(elsewhere) == "signature_wrong_authority", "\(elsewhere.body)")
            #expect(elsewhere.body.contains("node.toml [gateway] names"))
            #expect(try await Self.signedCall(node, from: "127.0.0.1", key: key).status == 200)
            #expect(try await Self.signedCall(node, from: "127.0.0.1", key: key, authority: "localhost:\(node.port)").status == 200)
            // A configured name without a port matches any port (a proxy in front).
            #expect(try await Self.signedCall(node, from: "127.0.0.1", key: key, authority: "guild.example:8443").status == 200)
        }
    }

    /// Behind a proxy that terminates TLS, the node sees plain HTTP while the browser signed the https URI it used:
    /// for a name in `[gateway] tls_names` the node checks the request as https, and only as https.
    @Test func aNameReachedThroughATLSProxyIsCheckedAsHTTPS() async throws {
        try await LiveNode.with(gateway: #"tls_names = ["guild.example"]"#) { node in
            let key = try SigningKey.generate()
            let proxied = try await Self.signedCall(node, from: "127.0.0.1", key: key, authority: "guild.example", scheme: "https")
            #expect(proxied.status == 200, "\(proxied.body)")
            let plain = try await Self.signedCall(node, from: "127.0.0.1", key: key, authority: "guild.example", scheme: "http")
            #expect(plain.status == 401 && Self.errorCode(plain) == "signature_bad_signature", "\(plain.body)")
            // The node's own address is still plain HTTP.
            #expect(try await Self.signedCall(node, from: "127.0.0.1", key: key).status == 200)
        }
    }

    /// Seen: a bad signature on GET /v1/health, /v1/apps and /metrics was answered 200.
    @Test func aBadSignatureOnAReadIsRefused() async throws {
        try await LiveNode.with { node in
            let forged = [("Signature-Input", #"sig1=("@method" "@authority" "@target-uri");created=1;keyid="x""#),
                          ("Signature", "sig1=:AAAA:")]
            for path in ["/v1/health", "/v1/apps", "/metrics"] {
                let bad = try await node.request("GET", path, headers: forged)
                #expect(bad.status == 401 && bad.errorCode?.hasPrefix("signature_") == true, "\(path): \(bad.status) \(bad.text)")
                #expect(try await node.request("GET", path).status == 200)
                #expect(try await node.request("GET", path, sign: try SigningKey.generate()).status == 200)
            }
        }
    }

    /// Seen: two `Host` headers, or none, got 200; RFC 9112 says 400.
    @Test func exactlyOneHostHeader() async throws {
        try await LiveNode.with { node in
            for (method, path) in [("POST", "/v1/apps/hello/echo"), ("GET", "/v1/health")] {
                let twice = try RawConnection(port: node.port)
                try twice.send(RawConnection.request(method, path, body: method == "POST" ? "{}" : "",
                                                     headers: [("Host", "127.0.0.1:\(node.port)")]))
                let r2 = try await twice.response()
                #expect(r2.status == 400 && Self.errorCode(r2) == "bad_host", "\(path): \(r2.status) \(r2.body)")
                let none = try RawConnection(port: node.port)
                try none.send(RawConnection.request(method, path, body: method == "POST" ? "{}" : "", host: nil))
                let r0 = try await none.response()
                #expect(r0.status == 400 && Self.errorCode(r0) == "bad_host", "\(path): \(r0.status) \(r0.body)")
            }
        }
    }

    /// Seen: at NOFILE=1024, 1,100 slow connections made a new client wait 15 s. One client now holds at most its
    /// share of connections; the rest are closed as they open, and other clients connect at once.
    @Test func oneClientCannotHoldEveryConnection() async throws {
        try await LiveNode.with(gateway: "max_connections_per_client = 8") { node in
            var held: [RawConnection] = []
            for _ in 0..<8 { held.append(try RawConnection(port: node.port, from: "127.0.0.2")) }
            for _ in 0..<20 {
                let extra = try RawConnection(port: node.port, from: "127.0.0.2")
                #expect(try await extra.isClosedByServer())
            }
            // Another client is served, and so is each held connection.
            let other = try RawConnection(port: node.port, from: "127.0.0.3")
            try other.send(RawConnection.request("GET", "/v1/health", host: "127.0.0.1:\(node.port)"))
            #expect(try await other.response().status == 200)
            try held[0].send(RawConnection.request("GET", "/v1/health", host: "127.0.0.1:\(node.port)"))
            #expect(try await held[0].response().status == 200)
            // Closed connections give their places back.
            held.removeAll()
            var served = false
            for _ in 0..<300 where !served {
                let again = try RawConnection(port: node.port, from: "127.0.0.2")
                try again.send(RawConnection.request("GET", "/v1/health", host: "127.0.0.1:\(node.port)"))
                served = (try? await again.response().status) == 200
                if !served { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(served)
        }
    }

    /// A trusted proxy carries many clients' connections: it is held only to the node's total, not to one client's
    /// share; any other address still is.
    @Test func aTrustedProxyIsNotHeldToOneClientsConnections() async throws {
        try await LiveNode.with(gateway: "max_connections_per_client = 4\ntrusted_proxies = [\"127.0.0.2\"]") { node in
            var held: [RawConnection] = []
            for _ in 0..<12 { held.append(try RawConnection(port: node.port, from: "127.0.0.2")) }
            for connection in held.suffix(2) {
                try connection.send(RawConnection.request("GET", "/v1/health", host: "127.0.0.1:\(node.port)"))
                #expect(try await connection.response().status == 200)
            }
            var others: [RawConnection] = []
            for _ in 0..<4 { others.append(try RawConnection(port: node.port, from: "127.0.0.3")) }
            #expect(try await RawConnection(port: node.port, from: "127.0.0.3").isClosedByServer())
        }
    }

    /// The gateway's "no such route" has its own code, distinct from an app's `not_found`.
    @Test func anUnknownRouteIsNoRoute() async throws {
        try await LiveNode.with { node in
            let r = try await node.request("GET", "/v1/nope")
            #expect(r.status == 404 && r.errorCode == "no_route", "\(r.text)")
        }
    }
}
