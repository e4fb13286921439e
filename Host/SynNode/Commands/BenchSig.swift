import ArgumentParser
import Foundation
import SynHTTPSig
import SynSodium
import SynSystem

/// The gateway's signature check against its floor, measured in the same run: one ed25519 verify of a signature
/// base of the same size plus the SHA-256 of the body. Everything else (parsing Signature-Input, building the
/// base, the replay cache) is the overhead the ratio shows.
struct BenchSig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sig", abstract: "RFC 9421 verify vs one ed25519 verify plus hashing.")
    @Option(help: "Signed requests per sample set.") var requests: Int = 20_000
    @Option(help: "Body bytes.") var bodyBytes: Int = 256

    func run() throws {
        let directory = NSTemporaryDirectory() + "syneroym-bench-sig-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try KeyFile.loadOrCreate(path: directory + "/k.key").key
        let url = "http://127.0.0.1:7420/v1/apps/hello/echo"
        let body = Array(String(repeating: "x", count: bodyBytes).utf8)
        let now = Int64(Date().timeIntervalSince1970)
        // Distinct requests (fresh nonces), signed up front: the replay cache would refuse repeats.
        var signed: [SignedRequest] = []
        var bases: [([UInt8], [UInt8])] = []
        for _ in 0..<requests {
            let headers = try RequestSigner(key: key).sign(method: "POST", url: url, body: body, created: now)
            signed.append(try SignedRequest(method: "POST", url: url, headers: headers.fields + [HTTPField(name: "Content-Type", value: "application/json")], body: body))
            let base = Array("\"@method\": POST\n\"@authority\": 127.0.0.1:7420\n\"@target-uri\": \(url)\n\"content-digest\": \(headers.contentDigest ?? "")\n\"@signature-params\": \(headers.signatureInput.dropFirst(5))".utf8)
            bases.append((base, key.sign(base)))
        }
        let verifier = SignatureVerifier(configuration: .init(window: 300), replayCache: ReplayCache(capacity: 2 * requests + 16, perClient: 2 * requests + 16))
        var full: [Double] = [], floor: [Double] = []
        for round in 0..<10 {
            let slice = (round * requests / 10)..<((round + 1) * requests / 10)
            for i in slice {
                // Alternate which goes first, so cache effects fall on both alike.
                if i % 2 == 0 { full.append(try Self.time { _ = try verifier.verify(signed[i], now: now) }) }
                floor.append(try Self.time {
                    guard Ed25519.verify(publicKey: key.publicKey, message: bases[i].0, signature: bases[i].1) else {
                        throw CLIError("baseline signature did not verify")
                    }
                    _ = Hash.sha256(body)
                })
                if i % 2 == 1 { full.append(try Self.time { _ = try verifier.verify(signed[i], now: now) }) }
            }
        }
        let f = Stats.quantile(full, 0.5), b = Stats.quantile(floor, 0.5)
        print(JSONText.object([
            ("verify_request_us_p50", JSONText.number(f)),
            ("ed25519_verify_plus_sha256_us_p50", JSONText.number(b)),
            ("ratio_p50", JSONText.number(f / b, places: 3)),
            ("body_bytes", "\(bodyBytes)"), ("requests", "\(requests)"),
        ]))
    }

    /// Microseconds `body` took.
    static func time(_ body: () throws -> Void) throws -> Double {
        let t0 = MonotonicClock.nowNs()
        try body()
        return Double(MonotonicClock.nowNs() - t0) / 1000
    }
}
