import Foundation
import SynTestSupport
import SynHTTPSig
import Testing

/// Verifies requests signed by the third-party Python package `requests-http-signature` (Tests/Interop).
///
/// Skipped when python3 or the package is missing, unless `SYN_REQUIRE_INTEROP=1`, which makes a missing package
/// a failure (CI sets it after installing the package).
struct InteropTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Interop/sign_requests.py").path
    static let required = ProcessInfo.processInfo.environment["SYN_REQUIRE_INTEROP"] == "1"

    /// Whether `python3` can import the package (checked once).
    static let available: Bool = {
        (try? run(["python3", "-c", "import requests_http_signature, cryptography"]))?.status == 0
    }()

    struct Output: Decodable {
        let library: String
        let keyid: String
        let cases: [Case]
    }

    struct Case: Decodable {
        let name: String
        let expect: String
        let method: String
        let url: String
        let headers: [[String]]
        let body_b64: String
    }

    /// Runs `arguments` through /usr/bin/env, returning exit status, stdout and stderr.
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        let child = try ChildProcess("/usr/bin/env", arguments)
        // stderr is read after stdout: the script writes little to it, so its pipe never fills meanwhile.
        let stdout = Data(child.readOutput().utf8)
        let stderr = child.readErrors()
        return (child.wait(), stdout, stderr)
    }

    @Test(.enabled(if: available || required,
                   "python3 with requests-http-signature is not installed (pip install requests-http-signature); set SYN_REQUIRE_INTEROP=1 to make this a failure"))
    func pythonSignedRequestsVerify() throws {
        let seed = String(repeating: "0b", count: 32)
        let otherSeed = String(repeating: "0c", count: 32)
        let result = try Self.run(["python3", Self.script, "--seed", seed, "--other-seed", otherSeed,
                                   "--now", String(testNow)])
        try #require(result.status == 0, "sign_requests.py failed (\(result.status)): \(result.stderr)")
        let output = try JSONDecoder().decode(Output.self, from: result.stdout)
        #expect(output.cases.count >= 10)
        var outcomes: [String: String] = [:]
        for item in output.cases {
            let headers = item.headers.compactMap { pair in
                pair.count == 2 ? HTTPField(name: pair[0], value: pair[1]) : nil
            }
            let body = [UInt8](Data(base64Encoded: item.body_b64) ?? Data())
            let request = try SignedRequest(method: item.method, url: item.url, headers: headers, body: body)
            let verifier = SignatureVerifier()
            let outcome: String
            do {
                let verified = try verifier.verify(request, now: testNow)
                #expect(verified.keyID == output.keyid)
                outcome = "ok"
                if item.name == "post" {
                    // The same request again is a replay.
                    let again = refusal { () throws(SignatureError) in try verifier.verify(request, now: testNow + 1) }
                    #expect(again?.code == .replay, "replayed python request was not refused")
                }
            } catch {
                outcome = error.code.wireCode
                if outcome != item.expect { Issue.record("case \(item.name): \(error)") }
            }
            outcomes[item.name] = outcome
            #expect(outcome == item.expect, "case \(item.name) (requests-http-signature \(output.library))")
        }
        #expect(outcomes["post"] == "ok")
        #expect(outcomes["wrong-key"] == "signature_bad_signature")
    }
}
