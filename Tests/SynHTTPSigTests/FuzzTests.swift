import SynHTTPSig
import SynSodium
import SynTestSupport
import Testing

/// Deterministic fuzzing: mutated and random hostile inputs must be refused (or, for harmless mutations, accepted
/// with the original meaning) and must never crash.
struct FuzzTests {
    static let structural = Array(#"()";=:,*?\ -_.@/0123456789abcdefgkosz+ABZ"#.utf8) + [0x09, 0x0a, 0x00, 0x7f, 0xff, 0xc3]

    static func mutate(_ bytes: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var out = bytes
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            let position = out.isEmpty ? 0 : Int.random(in: 0..<out.count, using: &generator)
            let byte = Bool.random(using: &generator)
                ? structural[Int.random(in: 0..<structural.count, using: &generator)]
                : UInt8.random(in: 0...255, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0 where !out.isEmpty: out[position] = byte
            case 1: out.insert(byte, at: position)
            case 2 where !out.isEmpty: out.remove(at: position)
            case 3 where !out.isEmpty: out[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
            case 4: out = Array(out.prefix(position))
            default:
                let end = min(out.count, position + Int.random(in: 1...8, using: &generator))
                out.insert(contentsOf: out[position..<end], at: position)
            }
        }
        return out
    }

    @Test func mutatedHeadersNeverCrashOrForge() throws {
        let key = try RFCTestKey.signingKey()
        let body = Array(#"{"k":"v"}"#.utf8)
        let headers = try RequestSigner(key: key).sign(method: "POST", url: echoURL, body: body, created: testNow,
                                                       nonce: "fuzz")
        let original = try serverRequest(method: "POST", url: echoURL, body: body, signed: headers)
        var generator = SplitMix64(seed: 0x5EED)
        let names = ["Signature-Input", "Signature", "Content-Digest"]
        var accepted = 0
        for iteration in 0..<4500 {
            let name = names[iteration % names.count]
            let value = try #require(original.fieldValue(name))
            let mutated = String(decoding: Self.mutate(Array(value.utf8), using: &generator), as: UTF8.self)
            let request = replacing(name, with: mutated, in: original)
            let verifier = SignatureVerifier(replayCache: ReplayCache(capacity: 8))
            do {
                let result = try verifier.verify(request, now: testNow)
                accepted += 1
                #expect(result.keyID == RFCTestKey.publicKey)
                #expect(result.components == ["@method", "@authority", "@target-uri", "content-digest"])
                #expect(result.created == testNow)
            } catch {
                #expect(error.message.utf8.count < 600, "message too long: \(error.message.utf8.count)")
            }
        }
        #expect(accepted < 450, "too many mutations accepted: \(accepted)")
    }

    @Test func randomHeadersAreRefused() {
        var generator = SplitMix64(seed: 42)
        let verifier = SignatureVerifier()
        for _ in 0..<3000 {
            func randomValue() -> String {
                let length = Int.random(in: 0...200, using: &generator)
                let bytes = (0..<length).map { _ in
                    Bool.random(using: &generator)
                        ? Self.structural[Int.random(in: 0..<Self.structural.count, using: &generator)]
                        : UInt8.random(in: 0...255, using: &generator)
                }
                return String(decoding: bytes, as: UTF8.self)
            }
            let request = SignedRequest(method: "GET", scheme: "http", authority: "127.0.0.1:7420", target: "/", headers: [
                HTTPField(name: "Signature-Input", value: "sig1=" + randomValue()),
                HTTPField(name: "Signature", value: randomValue()),
                HTTPField(name: "Content-Digest", value: randomValue()),
            ])
            #expect(refusal { () throws(SignatureError) in try verifier.verify(request, now: testNow) } != nil)
        }
    }

    @Test func hostileRequestLinePartsAreRefusedCleanly() throws {
        let key = try RFCTestKey.signingKey()
        let headers = try RequestSigner(key: key).sign(method: "GET", url: echoURL, created: testNow, nonce: nil)
        let original = try serverRequest(method: "GET", url: echoURL, signed: headers)
        var generator = SplitMix64(seed: 99)
        for iteration in 0..<1500 {
            var request = original
            switch iteration % 4 {
            case 0: request.method = String(decoding: Self.mutate(Array(request.method.utf8), using: &generator), as: UTF8.self)
            case 1: request.authority = String(decoding: Self.mutate(Array(request.authority.utf8), using: &generator), as: UTF8.self)
            case 2: request.target = String(decoding: Self.mutate(Array(request.target.utf8), using: &generator), as: UTF8.self)
            default: request.scheme = String(decoding: Self.mutate(Array(request.scheme.utf8), using: &generator), as: UTF8.self)
            }
            let verifier = SignatureVerifier(replayCache: ReplayCache(capacity: 8))
            let error = refusal { () throws(SignatureError) in try verifier.verify(request, now: testNow) }
            if request == original || (iteration % 4 == 3 && HeaderNameLower.equalScheme(request.scheme, original.scheme)) {
                continue   // an unchanged (or case-only changed scheme) request may verify
            }
            #expect(error != nil, "iteration \(iteration) accepted \(request)")
        }
    }

    @Test func randomURLsAndBase64NeverCrash() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<3000 {
            let text = String(decoding: Self.mutate(Array("https://example.com:8443/a/b?c=d".utf8), using: &generator),
                              as: UTF8.self)
            _ = refusal { () throws(SignatureError) in try SignedRequest(method: "GET", url: text) }
            _ = Base64.decode(String(decoding: Self.mutate(Array("Zm9vYmFyYg==".utf8), using: &generator), as: UTF8.self))
        }
    }
}

/// Case-insensitive scheme comparison for the fuzz oracle.
enum HeaderNameLower {
    static func equalScheme(_ a: String, _ b: String) -> Bool { a.lowercased() == b.lowercased() }
}
