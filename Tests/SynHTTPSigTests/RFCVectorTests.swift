import SynHTTPSig
import SynSodium
import Testing

/// RFC 9421 Appendix B.2.6 ("Signing a Request Using ed25519") and the RFC 9530 digest example.
struct RFCVectorTests {
    static let signatureInput = #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")"#
        + #";created=1618884473;keyid="test-key-ed25519""#
    static let signature = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
    static let expectedBase = """
        "date": Tue, 20 Apr 2021 02:07:55 GMT
        "@method": POST
        "@path": /foo
        "@authority": example.com
        "content-type": application/json
        "content-length": 18
        "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");\
        created=1618884473;keyid="test-key-ed25519"
        """
    static let components = ["date", "@method", "@path", "@authority", "content-type", "content-length"]
    static let params = #"("date" "@method" "@path" "@authority" "content-type" "content-length");"#
        + #"created=1618884473;keyid="test-key-ed25519""#

    /// The RFC's test request (Appendix B.2).
    static func request(signed: Bool) -> SignedRequest {
        var headers = [
            HTTPField(name: "Host", value: "example.com"),
            HTTPField(name: "Date", value: "Tue, 20 Apr 2021 02:07:55 GMT"),
            HTTPField(name: "Content-Type", value: "application/json"),
            HTTPField(name: "Content-Length", value: "18"),
        ]
        if signed {
            headers.append(HTTPField(name: "Signature-Input", value: signatureInput))
            headers.append(HTTPField(name: "Signature", value: signature))
        }
        return SignedRequest(method: "POST", scheme: "https", authority: "example.com",
                             target: "/foo?param=Value&Pet=dog", headers: headers,
                             body: Array(#"{"hello": "world"}"#.utf8))
    }

    @Test func signatureBaseMatchesAppendixB26() throws {
        let base = try SignatureBase.build(components: Self.components, signatureParams: Self.params,
                                           request: Self.request(signed: false))
        #expect(String(decoding: base, as: UTF8.self) == Self.expectedBase)
    }

    @Test func publishedSignatureVerifiesOverOurBase() throws {
        let base = try SignatureBase.build(components: Self.components, signatureParams: Self.params,
                                           request: Self.request(signed: false))
        let signature = try #require(Base64.decode("wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="))
        let key = try #require(Base64URL.decode(RFCTestKey.publicKey))
        #expect(Ed25519.verify(publicKey: key, message: base, signature: signature))
        var tampered = base
        tampered[0] ^= 1
        #expect(!Ed25519.verify(publicKey: key, message: tampered, signature: signature))
    }

    @Test func signingTheBaseWithTheTestKeyReproducesThePublishedSignature() throws {
        let key = try RFCTestKey.signingKey()
        let base = try SignatureBase.build(components: Self.components, signatureParams: Self.params,
                                           request: Self.request(signed: false))
        #expect(Base64.encode(key.sign(base))
            == "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==")
    }

    @Test func ourProfileRefusesTheVectorForItsMissingComponents() {
        let verifier = SignatureVerifier()
        let error = refusal { () throws(SignatureError) in
            try verifier.verify(Self.request(signed: true), now: 1_618_884_473)
        }
        // The vector's keyid is not a raw key, and it covers neither @target-uri nor content-digest: the member
        // fails the profile at coverage, which is checked first.
        #expect(error?.code == .missingComponent)
        #expect(error?.message.contains("\"@target-uri\"") == true)
        #expect(error?.message.contains("\"content-digest\"") == true)
    }

    @Test func contentDigestMatchesRFC9530Example() {
        #expect(ContentDigest.header(for: Array(#"{"hello": "world"}"#.utf8))
            == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
    }
}
