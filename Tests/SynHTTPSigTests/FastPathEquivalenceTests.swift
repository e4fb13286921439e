import SynText
@testable import SynHTTPSig
import SynSodium
import SynTestSupport
import Testing

/// The byte-level shortcuts of the verifier against the general code they stand in for: same answers on valid,
/// hostile and mutated inputs.
struct FastPathEquivalenceTests {
    /// The full path for one `Signature-Input`: RFC 8941 parse, then the profile check of the only member.
    static func fullPath(_ bytes: [UInt8], limits: SignatureLimits) -> (String, SignatureParameters)? {
        guard let members = try? StructuredFieldParser.dictionary(
            bytes, field: "Signature-Input", maxMembers: limits.maxLabels, maxItems: limits.maxComponents,
            maxParameters: limits.maxParameters), members.count == 1,
            let parameters = try? SignatureParameters(member: members[0], limits: limits) else { return nil }
        return (members[0].key, parameters)
    }

    static let pieces = [
        " ", "  ", "\t", "\"", "\\", ";", "=", "(", ")", ",", "0", "-", ".", "?1", "A", "@", "@status", "\"@path\"",
        "\"@method\"", ";created=0", ";created=007", ";created=-0", ";expires=5", ";alg=\"rsa\"", ";alg=\"ed25519\"",
        ";nonce=\"\"", ";tag=\"t\"", ";foo=1", ";keyid", ":AA==:", "sig2=", "\"Content-Digest\"", "\"x\\\"y\"",
    ].map { Array($0.utf8) }

    static func mutate(_ bytes: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var out = bytes
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            let position = out.isEmpty ? 0 : Int.random(in: 0..<out.count, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0 where !out.isEmpty: out[position] = UInt8.random(in: 0...255, using: &generator)
            case 1: out.insert(contentsOf: pieces[Int.random(in: 0..<pieces.count, using: &generator)], at: position)
            case 2 where !out.isEmpty: out.remove(at: position)
            case 3: out = Array(out.prefix(position))
            default:
                let end = min(out.count, position + Int.random(in: 1...8, using: &generator))
                out.replaceSubrange(position..<end, with: pieces[Int.random(in: 0..<pieces.count, using: &generator)])
            }
        }
        return out
    }

    @Test func signatureInputShortcutAgreesWithTheFullPath() throws {
        let key = try RFCTestKey.signingKey()
        var generator = SplitMix64(seed: 0x5107)
        var taken = 0
        for iteration in 0..<20_000 {
            let body: [UInt8] = iteration % 2 == 0 ? [] : Array("{}".utf8)
            let signed = try RequestSigner(key: key, label: iteration % 3 == 0 ? "a*1.-_" : "sig1").sign(
                method: "POST", url: echoURL, body: body, created: testNow + Int64(iteration % 1000),
                nonce: iteration % 4 == 0 ? nil : "n\(iteration)")
            var bytes = Array(signed.signatureInput.utf8)
            if iteration % 5 != 0 { bytes = Self.mutate(bytes, using: &generator) }
            var limits = SignatureLimits()
            if iteration % 7 == 0 {
                limits.maxLabels = Int.random(in: 0...2, using: &generator)
                limits.maxComponents = Int.random(in: 0...5, using: &generator)
                limits.maxParameters = Int.random(in: 0...5, using: &generator)
                limits.maxParameterStringBytes = Int.random(in: 0...50, using: &generator)
            }
            let fast = SignatureInputShortcut.parse(bytes, limits: limits)
            if iteration % 5 == 0 && iteration % 7 != 0 {
                #expect(fast != nil, "the shortcut should take a signer's own value: \(signed.signatureInput)")
            }
            guard let fast else { continue }
            taken += 1
            let full = Self.fullPath(bytes, limits: limits)
            #expect(full?.0 == fast.label && full?.1 == fast.parameters,
                    "shortcut accepted \(String(decoding: bytes, as: UTF8.self)) differently from the full path")
        }
        #expect(taken > 4000)
    }

    /// The worker's hand-written base64 (`SynText`, no libsodium there) and the host's (libsodium) accept and
    /// produce the same text.
    @Test func theWorkersBase64MatchesLibsodium() {
        var generator = SplitMix64(seed: 0xB64)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n".utf8)
        for iteration in 0..<20_000 {
            let bytes = SecureRandom.bytes(iteration % 70)
            #expect(SynText.Base64.encode(bytes) == SynSodium.Base64.encode(bytes))
            var text = Array(SynSodium.Base64.encode(bytes).utf8)
            if iteration % 2 == 0, !text.isEmpty {
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    text[Int.random(in: 0..<text.count, using: &generator)] =
                        alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]
                }
            }
            let string = String(decoding: text, as: UTF8.self)
            #expect(SynText.Base64.decode(text) == SynSodium.Base64.decode(string), "\(string)")
        }
    }

    /// The decoder as it was before it worked on buffers, kept as the reference.
    static func referenceBase64(_ text: [UInt8]) -> [UInt8]? {
        func value(_ char: UInt8) -> UInt8? {
            switch char {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): char - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): char - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): 62
            case UInt8(ascii: "/"): 63
            default: nil
            }
        }
        let pad = UInt8(ascii: "=")
        guard text.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < text.count {
            let isLast = index + 4 == text.count
            let padding = isLast ? (text[index + 3] == pad ? (text[index + 2] == pad ? 2 : 1) : 0) : 0
            var quad: UInt32 = 0
            for offset in 0..<4 {
                if offset >= 4 - padding {
                    quad <<= 6
                    continue
                }
                guard let value = value(text[index + offset]) else { return nil }
                quad = quad << 6 | UInt32(value)
            }
            out.append(UInt8(quad >> 16 & 0xff))
            if padding < 2 { out.append(UInt8(quad >> 8 & 0xff)) }
            if padding < 1 { out.append(UInt8(quad & 0xff)) }
            if padding == 1 && quad & 0xff != 0 { return nil }
            if padding == 2 && quad & 0xffff != 0 { return nil }
            index += 4
        }
        return out
    }

    @Test func base64DecoderMatchesTheReference() {
        var generator = SplitMix64(seed: 44)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ :".utf8)
        for iteration in 0..<20_000 {
            var text = Array(SynSodium.Base64.encode(SecureRandom.bytes(iteration % 70)).utf8)
            for _ in 0..<Int.random(in: 0...2, using: &generator) where !text.isEmpty {
                text[Int.random(in: 0..<text.count, using: &generator)] =
                    alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]
            }
            #expect(SynText.Base64.decode(text) == Self.referenceBase64(text), "\(String(decoding: text, as: UTF8.self))")
            #expect(SynSodium.Base64.decode(String(decoding: text, as: UTF8.self)) == Self.referenceBase64(text))
        }
    }

    @Test func singleByteSequenceShortcutAgreesWithTheParser() {
        var generator = SplitMix64(seed: 45)
        for iteration in 0..<10_000 {
            let label = ["sig1", "sha-256", "a", "*x", "Sig", "1a", ""][iteration % 7]
            var text = Array((label + "=:" + SynSodium.Base64.encode(SecureRandom.bytes(iteration % 70)) + ":").utf8)
            if iteration % 2 == 1 { text = FuzzTests.mutate(text, using: &generator) }
            // A leading space sends the same value through the general parser.
            let fast = Result { () throws(SignatureError) in
                try StructuredFieldParser.dictionary(text, field: "F", maxMembers: 4, maxItems: 1, maxParameters: 4)
            }
            let full = Result { () throws(SignatureError) in
                try StructuredFieldParser.dictionary([0x20] + text, field: "F", maxMembers: 4, maxItems: 1,
                                                     maxParameters: 4)
            }
            switch (fast, full) {
            case (.success(let a), .success(let b)):
                #expect(a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
                    && a.map { Array($0.raw) } == b.map { Array($0.raw) })
            case (.failure, .failure): break   // messages may name different byte offsets
            default: Issue.record("outcomes differ for \(String(decoding: text, as: UTF8.self))")
            }
        }
    }

    @Test func headerNameMatchingIsStringEquality() {
        let names = ["signature", "Signature", "SIGNATURE-INPUT", "signature-input", "content-digest", "x-a;b",
                     "x-a\u{37E}b", "\u{212A}ey", "Key", "key", "x-`", "x-\u{1FEF}", "caf\u{E9}", "cafe\u{301}",
                     "", "a", "@method", "@\u{301}method"]
        for a in names {
            for b in names {
                #expect(HeaderName.matches(a, b) == (HeaderName.lowercased(a) == HeaderName.lowercased(b)),
                        "\(a) vs \(b)")
            }
            #expect(SignatureBase.isDerivedName(a) == a.hasPrefix("@"), "\(a)")
            let field = HeaderName.signatureField(a)
            #expect(field == (HeaderName.matches(a, "signature-input") ? 1 : HeaderName.matches(a, "signature") ? 2
                : HeaderName.matches(a, "content-digest") ? 3 : 0))
        }
    }

    @Test func replayInsertRefusesAndRollsBackLikeACheckThenInsert() throws {
        let cache = ReplayCache(capacity: 4, perClient: 3)
        let a = ReplaySource.client("192.0.2.1"), b = ReplaySource.client("192.0.2.2")
        let signature = [UInt8](repeating: 7, count: 64)
        let first = cache.keys(keyID: "k", nonce: "n1", signature: signature)
        try cache.insert(first, expiry: 100, now: 10, source: a)
        #expect(cache.count == 2)
        // The same nonce with another signature: refused as a nonce replay, nothing added.
        let sameNonce = cache.keys(keyID: "k", nonce: "n1", signature: [UInt8](repeating: 8, count: 64))
        #expect(refusal { () throws(SignatureError) in try cache.insert(sameNonce, expiry: 100, now: 10, source: a) }?.message
            .contains("nonce") == true)
        #expect(cache.count == 2)
        // A fresh nonce with the same signature: refused as a signature replay, the nonce not kept.
        let sameSignature = cache.keys(keyID: "k", nonce: "n2", signature: signature)
        let error = refusal { () throws(SignatureError) in try cache.insert(sameSignature, expiry: 100, now: 10, source: a) }
        #expect(error?.code == .replay && error?.message.contains("signature") == true)
        #expect(cache.count == 2)
        // Another keyid is another fingerprint.
        #expect(cache.keys(keyID: "k2", nonce: "n1", signature: signature).nonce != first.nonce)
        // Two more entries would pass this client's share of 3: refused for it alone, nothing kept.
        let fresh = cache.keys(keyID: "k", nonce: "n3", signature: [UInt8](repeating: 9, count: 64))
        let budget = refusal { () throws(SignatureError) in try cache.insert(fresh, expiry: 200, now: 10, source: a) }
        #expect(budget?.code == .clientBudget)
        #expect(cache.count == 2)
        // One more fits its share.
        try cache.insert(cache.keys(keyID: "k", nonce: nil, signature: [UInt8](repeating: 9, count: 64)),
                         expiry: 200, now: 10, source: a)
        #expect(cache.count == 3)
        // Another client is not locked out by a full cache: the entry closest to expiry gives way.
        try cache.insert(cache.keys(keyID: "j", nonce: "m1", signature: [UInt8](repeating: 5, count: 64)),
                         expiry: 300, now: 10, source: b)
        #expect(cache.count == 4 && cache.evicted == 1)
        // Owners count against neither the capacity nor a share.
        for i in 0..<10 {
            try cache.insert(cache.keys(keyID: "owner", nonce: "o\(i)", signature: [UInt8](repeating: UInt8(i), count: 64)),
                             expiry: 300, now: 10, source: .owner)
        }
        #expect(cache.count == 24 && cache.evicted == 1)
        // Once expired, everything is purged and the first request fits again.
        try cache.insert(first, expiry: 400, now: 301, source: a)
        #expect(cache.count == 2)
    }
}
