import Foundation
import SynHTTPSig
import Testing

/// The worked examples in docs/request-signing.md: our signer must produce them byte for byte, our verifier must
/// accept them, and the page must still show them.
struct DocExampleTests {
    static let body = Array(#"{"message":"hello"}"#.utf8)
    static let digest = "sha-256=:my1Dr/v0mjZwKN8uFBT4TA4JmsmMPVSoqAFX/XdxryU=:"
    static let postInput = #"sig1=("@method" "@authority" "@target-uri" "content-digest");created=1750000000;"#
        + #"keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";alg="ed25519";nonce="q7yFHPXwOgBr7Yk-xXu2Rg""#
    static let postSignature = "sig1=:V+0N7Ueec0mwoo8/ZwykWueDkOccCJzzG5ewS1eQfBtt4DIxm2J8rU/cGijt8GHb8+eOgl+MqeQTpdUGF349Cw==:"
    static let postBase = """
        "@method": POST
        "@authority": 127.0.0.1:7420
        "@target-uri": http://127.0.0.1:7420/v1/apps/hello/echo
        "content-digest": sha-256=:my1Dr/v0mjZwKN8uFBT4TA4JmsmMPVSoqAFX/XdxryU=:
        "@signature-params": ("@method" "@authority" "@target-uri" "content-digest");created=1750000000;\
        keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";alg="ed25519";nonce="q7yFHPXwOgBr7Yk-xXu2Rg"
        """
    static let getInput = #"sig1=("@method" "@authority" "@target-uri");created=1750000000;"#
        + #"keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";alg="ed25519";nonce="Zm9vYmFyYmF6cXV4""#
    static let getSignature = "sig1=:PVup5HV+lDsjZu8aXO5KQdBry2dE3kjeFjDHHsfmwvn7R/M3E4aazOsupFzogvbdrJIYx4qJQGwT+z8wd/eRCw==:"

    @Test func signerProducesTheDocumentedPost() throws {
        let signer = RequestSigner(key: try RFCTestKey.signingKey())
        let headers = try signer.sign(method: "POST", url: echoURL, body: Self.body, created: 1_750_000_000,
                                      nonce: "q7yFHPXwOgBr7Yk-xXu2Rg")
        #expect(headers.contentDigest == Self.digest)
        #expect(headers.signatureInput == Self.postInput)
        #expect(headers.signature == Self.postSignature)
        let request = try serverRequest(method: "POST", url: echoURL, body: Self.body, signed: headers)
        let params = String(Self.postInput.dropFirst("sig1=".count))
        let base = try SignatureBase.build(components: ["@method", "@authority", "@target-uri", "content-digest"],
                                           signatureParams: params, request: request)
        #expect(String(decoding: base, as: UTF8.self) == Self.postBase)
        #expect(base.count == 366)
    }

    @Test func verifierAcceptsTheDocumentedRequestsAtTheirTime() throws {
        let verifier = SignatureVerifier()
        let post = SignedRequest(method: "POST", scheme: "http", authority: "127.0.0.1:7420",
                                     target: "/v1/apps/hello/echo", headers: [
                                         HTTPField(name: "Host", value: "127.0.0.1:7420"),
                                         HTTPField(name: "Content-Type", value: "application/json"),
                                         HTTPField(name: "Content-Digest", value: Self.digest),
                                         HTTPField(name: "Signature-Input", value: Self.postInput),
                                         HTTPField(name: "Signature", value: Self.postSignature),
                                     ], body: Self.body)
        #expect(try verifier.verify(post, now: 1_750_000_100).keyID == RFCTestKey.publicKey)
        let get = SignedRequest(method: "GET", scheme: "http", authority: "127.0.0.1:7420", target: "/v1/apps?limit=10",
                                headers: [HTTPField(name: "Signature-Input", value: Self.getInput),
                                          HTTPField(name: "Signature", value: Self.getSignature)])
        #expect(try verifier.verify(get, now: 1_749_999_970).nonce == "Zm9vYmFyYmF6cXV4")
        // Outside the window the same request is stale, and so is one dated more than 30 s ahead.
        let stale = refusal { () throws(SignatureError) in try SignatureVerifier().verify(get, now: 1_750_000_301) }
        #expect(stale?.code == .stale)
        let early = refusal { () throws(SignatureError) in try SignatureVerifier().verify(get, now: 1_749_999_969) }
        #expect(early?.code == .stale)
    }

    @Test func thePageShowsTheseValues() throws {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/request-signing.md")
        let text = try String(contentsOf: page, encoding: .utf8)
        for value in [Self.digest, Self.postInput, Self.postSignature, Self.getInput, Self.getSignature, Self.postBase] {
            #expect(text.contains(value), "docs/request-signing.md lacks \(value.prefix(60))")
        }
    }
}
