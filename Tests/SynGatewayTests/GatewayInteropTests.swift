import Foundation
import SynTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SynSodium
import Testing

/// Requests signed by the third-party PyPI package `requests-http-signature`, sent to the live gateway.
///
/// Skipped when python3 or the package is missing, unless `SYN_REQUIRE_INTEROP=1` (CI sets it after installing the
/// package), which makes that a failure.
@Suite struct GatewayInteropTests {
    static let script = Paths.root + "/Tests/Interop/sign_requests.py"
    static let required = ProcessInfo.processInfo.environment["SYN_REQUIRE_INTEROP"] == "1"
    static let available: Bool = {
        guard let child = try? ChildProcess("/usr/bin/env", ["python3", "-c", "import requests_http_signature, cryptography"],
                                            stdout: .null, stderr: .null) else { return false }
        return child.wait() == 0
    }()

    struct Output: Decodable {
        struct Case: Decodable {
            let name: String, expect: String, method: String, url: String, headers: [[String]], body_b64: String
        }
        let library: String
        let cases: [Case]
    }

    @Test(.enabled(if: available || required,
                   "python3 with requests-http-signature is missing (pip install requests-http-signature); SYN_REQUIRE_INTEROP=1 makes this a failure"))
    func thePythonClientIsAcceptedAndItsTamperingsAreNot() async throws {
        try await LiveNode.with { node in
            let seed = Hex.encode(Array(try Data(contentsOf: URL(fileURLWithPath: node.root + "/keys/owner.key")).prefix(32)))
            let child = try ChildProcess("/usr/bin/env", ["python3", Self.script, "--seed", seed, "--other-seed", String(repeating: "0c", count: 32),
                                                          "--now", String(Int(Date().timeIntervalSince1970)),
                                                          "--url", node.base + "/v1/apps/hello/whoami", "--get-url", node.base + "/v1/admin/apps"],
                                         stderr: .inherit)
            let data = Data(child.readOutput().utf8)
            try #require(child.wait() == 0, "sign_requests.py failed")
            let output = try JSONDecoder().decode(Output.self, from: data)
            #expect(output.cases.count >= 10)
            for item in output.cases {
                var request = URLRequest(url: try #require(URL(string: item.url)))
                request.httpMethod = item.method
                let body = Data(base64Encoded: item.body_b64) ?? Data()
                if !body.isEmpty { request.httpBody = body }
                for pair in item.headers where pair.count == 2 && !["host", "content-length"].contains(pair[0].lowercased()) {
                    request.setValue(pair[1], forHTTPHeaderField: pair[0])
                }
                let reply = try await LiveNode.send(request)
                if item.expect == "ok" {
                    #expect(reply.status == 200, "\(item.name): \(reply.status) \(reply.text)")
                    if item.method == "POST" {
                        #expect(reply.text == #"{"caller":"\#(Hex.encode(node.owner.publicKey))"}"#, "\(item.name): \(reply.text)")
                        // The same request again is a replay.
                        let again = try await LiveNode.send(request)
                        #expect(again.status == 401 && again.errorCode == "signature_replay", "\(item.name) replayed: \(again.text)")
                    }
                } else {
                    #expect(reply.status == 401 && reply.errorCode == item.expect, "\(item.name): \(reply.status) \(reply.text)")
                }
            }
        }
    }
}
