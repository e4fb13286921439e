import SynHTTPSig
import SynSodium
import Testing

struct VerifierTests {
    let key: SigningKey
    let signer: RequestSigner
    let body = Array(#"{"message":"hello"}"#.utf8)

    init() throws {
        key = try RFCTestKey.signingKey()
        signer = RequestSigner(key: key)
    }

    /// A fresh verifier with its own cache.
    func verifier(window: Int64 = 300, capacity: Int = 1000) -> SignatureVerifier {
        SignatureVerifier(configuration: .init(window: window), replayCache: ReplayCache(capacity: capacity))
    }

    /// A signed request as the server sees it.
    func signed(method: String = "POST", url: String = echoURL, body: [UInt8]? = nil, created: Int64 = testNow,
                nonce: String? = "n-1") throws(SignatureError) -> SignedRequest {
        let payload = body ?? self.body
        let headers = try signer.sign(method: method, url: url, body: payload, created: created, nonce: nonce)
        return try serverRequest(method: method, url: url, body: payload, signed: headers)
    }

    @Test func acceptsSignedPostAndGet() throws {
        let check = verifier()
        let post = try check.verify(signed(), now: testNow)
        #expect(post.publicKey == key.publicKey)
        #expect(post.keyID == RFCTestKey.publicKey)
        #expect(post.components == ["@method", "@authority", "@target-uri", "content-digest"])
        #expect(post.nonce == "n-1")
        let get = try check.verify(signed(method: "GET", url: echoURL + "?x=1&y=%20", body: [], nonce: nil),
                                   now: testNow + 5)
        #expect(get.components == ["@method", "@authority", "@target-uri"])
        #expect(get.nonce == nil)
    }

    @Test func signerOutputHasTheDocumentedShape() throws {
        let headers = try signer.sign(method: "POST", url: echoURL, body: body, created: testNow, nonce: "abc")
        #expect(headers.signatureInput == #"sig1=("@method" "@authority" "@target-uri" "content-digest");"#
            + #"created=1750000000;keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";alg="ed25519";nonce="abc""#)
        #expect(headers.signature.hasPrefix("sig1=:") && headers.signature.hasSuffix(":"))
        #expect(headers.contentDigest == ContentDigest.header(for: body))
        let get = try signer.sign(method: "GET", url: echoURL, created: testNow, nonce: nil)
        #expect(get.contentDigest == nil)
        #expect(!get.signatureInput.contains("nonce"))
    }

    @Test func acceptsWithinWindowEdges() throws {
        #expect(refusal { () throws(SignatureError) in try verifier().verify(try signed(created: testNow - 300), now: testNow) } == nil)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(try signed(created: testNow + 30), now: testNow) } == nil)
        // Ahead of the clock only a little is forgiven: an entry must not outlive the window by much.
        let ahead = refusal { () throws(SignatureError) in try verifier().verify(try signed(created: testNow + 31), now: testNow) }
        #expect(ahead?.code == .stale && ahead?.message.contains("at most 30 s ahead") == true)
    }

    @Test func refusesStaleAndFutureCreated() throws {
        let stale = try signed(created: testNow - 301)
        let error = refusal { () throws(SignatureError) in try verifier().verify(stale, now: testNow) }
        #expect(error?.code == .stale)
        #expect(error?.message.contains("301 s in the past") == true)
        let future = try signed(created: testNow + 301)
        let later = refusal { () throws(SignatureError) in try verifier().verify(future, now: testNow) }
        #expect(later?.code == .stale)
        #expect(later?.message.contains("in the future") == true)
        // A configurable window.
        #expect(refusal { () throws(SignatureError) in try verifier(window: 30).verify(try signed(created: testNow - 31), now: testNow) }?.code == .stale)
    }

    @Test func refusesTamperedBody() throws {
        var request = try signed()
        request.body[0] ^= 0x20
        let error = refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }
        #expect(error?.code == .digestMismatch)
        #expect(error?.message.contains("does not match the body") == true)
    }

    @Test func refusesTamperedBodyWithRecomputedDigest() throws {
        var request = try signed()
        request.body[0] ^= 0x20
        request = replacing("Content-Digest", with: ContentDigest.header(for: request.body), in: request)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }?.code == .badSignature)
    }

    @Test func refusesTamperedRequestLine() throws {
        var request = try signed()
        request.method = "PUT"
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }?.code == .badSignature)
        var moved = try signed()
        moved.target = "/v1/apps/other/echo"
        #expect(refusal { () throws(SignatureError) in try verifier().verify(moved, now: testNow) }?.code == .badSignature)
        var host = try signed()
        host.authority = "127.0.0.1:7421"
        #expect(refusal { () throws(SignatureError) in try verifier().verify(host, now: testNow) }?.code == .badSignature)
        var scheme = try signed()
        scheme.scheme = "https"
        #expect(refusal { () throws(SignatureError) in try verifier().verify(scheme, now: testNow) }?.code == .badSignature)
    }

    @Test func refusesWrongKey() throws {
        let other = try SigningKey.generate()
        let headers = try RequestSigner(key: other).sign(method: "POST", url: echoURL, body: body, created: testNow)
        // Claim to be the RFC key while signing with another.
        let forged = headers.signatureInput.replacingKeyID(with: RFCTestKey.publicKey, from: other.publicKey)
        let request = try serverRequest(method: "POST", url: echoURL, body: body, signed: SignedHeaders(
            signatureInput: forged, signature: headers.signature, contentDigest: headers.contentDigest))
        let error = refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }
        #expect(error?.code == .badSignature)
    }

    @Test(arguments: ["", "abc", "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0b", "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs=",
                      "JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs", "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bt"])
    func refusesBadKeyIDs(_ keyID: String) throws {
        let request = try signed()
        let input = try #require(request.fieldValue("signature-input"))
        let changed = input.replacingKeyID(with: keyID, from: key.publicKey)
        let error = refusal { () throws(SignatureError) in
            try verifier().verify(replacing("Signature-Input", with: changed, in: request), now: testNow)
        }
        // Empty keyid is malformed; the last one decodes (trailing bits) only if canonical, so bad key or bad sig.
        #expect(error != nil)
        #expect([.badKey, .malformed, .badSignature].contains(error?.code))
    }

    @Test func refusesMissingSignatureHeaders() throws {
        let request = try signed()
        let noInput = replacing("Signature-Input", with: nil, in: request)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(noInput, now: testNow) }?.code == .missingSignature)
        let noSignature = replacing("Signature", with: nil, in: request)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(noSignature, now: testNow) }?.code == .missingSignature)
    }

    /// Signs `components` by hand (bypassing `RequestSigner`'s fixed set).
    func handSigned(components: [String], parameters: String, method: String = "POST", body: [UInt8],
                    digest: String?, label: String = "sig1", extra: [HTTPField] = []) throws(SignatureError)
        -> SignedRequest {
        var headers = extra
        if let digest { headers.append(HTTPField(name: "Content-Digest", value: digest)) }
        var request = try SignedRequest(method: method, url: echoURL, headers: headers, body: body)
        let params = "(" + components.map { "\"\($0)\"" }.joined(separator: " ") + ")" + parameters
        let base = try SignatureBase.build(components: components, signatureParams: params, request: request)
        request.headers.append(HTTPField(name: "Signature-Input", value: "\(label)=\(params)"))
        request.headers.append(HTTPField(name: "Signature", value: "\(label)=:\(Base64.encode(key.sign(base))):"))
        return request
    }

    var keyParams: String { #";created=1750000000;keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs""# }

    @Test func acceptsHandSignedWithoutAlg() throws {
        let request = try handSigned(components: ["@target-uri", "@method", "@authority"], parameters: keyParams,
                                     method: "GET", body: [], digest: nil)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) } == nil)
    }

    @Test(arguments: [["@method", "@authority"], ["@method", "@target-uri"], ["@authority", "@target-uri"],
                      ["@method", "@authority", "@target-uri"]])
    func refusesMissingComponents(_ components: [String]) throws {
        let request = try handSigned(components: components, parameters: keyParams, body: body,
                                     digest: ContentDigest.header(for: body))
        let error = refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }
        #expect(error?.code == .missingComponent)
    }

    @Test func refusesBodyWithoutDigestHeaderEvenIfCovered() throws {
        let request = try handSigned(components: ["@method", "@authority", "@target-uri", "content-digest"],
                                     parameters: keyParams, body: body, digest: ContentDigest.header(for: body))
        let stripped = replacing("Content-Digest", with: nil, in: request)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(stripped, now: testNow) }?.code == .missingComponent)
    }

    @Test func checksAnUncoveredDigestHeaderToo() throws {
        let request = try handSigned(components: ["@method", "@authority", "@target-uri"], parameters: keyParams,
                                     method: "GET", body: [], digest: "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:")
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }?.code == .digestMismatch)
    }

    @Test(arguments: [
        "sha-512=:AAAA:", "sha-256=:AAAA:", "sha-256=abc", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, sha-512=:AAAA:",
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU:", "SHA-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
    ])
    func refusesBadDigestHeaders(_ digest: String) throws {
        let request = try handSigned(components: ["@method", "@authority", "@target-uri", "content-digest"],
                                     parameters: keyParams, method: "GET", body: [], digest: digest)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }?.code == .digestMismatch)
    }

    @Test func acceptsEmptyBodyDigestAsPythonSends() throws {
        let request = try handSigned(components: ["@method", "@authority", "@target-uri", "content-digest"],
                                     parameters: keyParams, method: "GET", body: [],
                                     digest: "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) } == nil)
    }

    @Test(arguments: [#";alg="rsa-pss-sha512""#, #";alg="ED25519""#, #";alg="hmac-sha256""#])
    func refusesOtherAlgorithms(_ alg: String) throws {
        let request = try handSigned(components: ["@method", "@authority", "@target-uri"],
                                     parameters: keyParams + alg, method: "GET", body: [], digest: nil)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }?.code == .unsupportedAlgorithm)
    }

    @Test(arguments: [
        (#";keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs""#, "created parameter is required"),
        (";created=1750000000", "keyid parameter is required"),
        (#";created=1750000000;keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";foo=1"#, "unknown parameter"),
        (#";created="1750000000";keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs""#, "non-negative integer"),
        (#";created=1750000000;keyid=JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"#, "quoted string"),
        (#";created=1750000000; keyid="JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs""#, "canonical"),
    ])
    func refusesBadParameters(_ parameters: String, _ phrase: String) throws {
        let request = try handSigned(components: ["@method", "@authority", "@target-uri"], parameters: parameters,
                                     method: "GET", body: [], digest: nil)
        let error = refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) }
        #expect(error?.code == .malformed)
        #expect(error?.message.contains(phrase) == true, "\(String(describing: error))")
    }

    @Test func verifiesTheFirstLabelMeetingTheProfile() throws {
        let good = try handSigned(components: ["@method", "@authority", "@target-uri"], parameters: keyParams,
                                  method: "GET", body: [], digest: nil, label: "mine")
        let input = try #require(good.fieldValue("signature-input"))
        let signature = try #require(good.fieldValue("signature"))
        // A proxy's signature first (other algorithm), ours second, in separate field lines.
        var request = replacing("Signature-Input", with: nil, in: replacing("Signature", with: nil, in: good))
        request.headers += [
            HTTPField(name: "Signature-Input", value: #"proxy=("@method");created=1750000000;keyid="p";alg="rsa-pss-sha512""#),
            HTTPField(name: "signature-input", value: input),
            HTTPField(name: "Signature", value: "proxy=:AAAA:, " + signature),
        ]
        let verified = try verifier().verify(request, now: testNow)
        #expect(verified.label == "mine")
        // When no member meets the profile, the first member's refusal is reported.
        let onlyProxy = replacing("Signature-Input", with: #"proxy=("@method");created=1;keyid="p";alg="rsa-pss-sha512""#,
                                  in: request)
        #expect(refusal { () throws(SignatureError) in try verifier().verify(onlyProxy, now: testNow) }?.code == .unsupportedAlgorithm)
    }

    @Test func refusesSignatureLabelMismatch() throws {
        let request = try signed()
        let signature = try #require(request.fieldValue("signature"))
        let renamed = replacing("Signature", with: "other" + signature.dropFirst(4), in: request)
        let error = refusal { () throws(SignatureError) in try verifier().verify(renamed, now: testNow) }
        #expect(error?.code == .malformed)
        #expect(error?.message.contains("no member labelled") == true)
    }

    @Test func authorityIsNormalisedButTargetURIKeepsTheHostAsSent() throws {
        let headers = try signer.sign(method: "GET", url: "https://Node.Example:443/v1/x", created: testNow, nonce: nil)
        let request = try serverRequest(method: "GET", url: "https://Node.Example:443/v1/x", signed: headers)
        #expect(try SignatureBase.componentValue("@authority", of: request) == "node.example")
        #expect(try SignatureBase.componentValue("@target-uri", of: request) == "https://Node.Example:443/v1/x")
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) } == nil)
    }

    @Test func combinesRepeatedHeaderLines() {
        let request = SignedRequest(method: "GET", scheme: "http", authority: "a", target: "/", headers: [
            HTTPField(name: "X-A", value: "  one "), HTTPField(name: "x-b", value: "z"), HTTPField(name: "x-a", value: "\ttwo"),
        ])
        #expect(request.fieldValue("x-a") == "one, two")
        #expect(request.fieldValue("X-B") == "z")
        #expect(request.fieldValue("x-c") == nil)
    }

    @Test func refusesControlCharactersInCoveredValues() throws {
        let request = try handSigned(components: ["@method", "@authority", "@target-uri", "x-note"], parameters: keyParams,
                                     method: "GET", body: [], digest: nil, extra: [HTTPField(name: "X-Note", value: "a")])
        #expect(refusal { () throws(SignatureError) in try verifier().verify(request, now: testNow) } == nil)
        let injected = replacing("X-Note", with: "a\n\"@method\": GET", in: request)
        let error = refusal { () throws(SignatureError) in try verifier().verify(injected, now: testNow) }
        #expect(error?.code == .malformed)
        #expect(error?.message.contains("control") == true)
    }

    @Test func refusesOversizedHeaders() throws {
        let request = try signed()
        let big = replacing("Signature-Input", with: "sig1=(" + String(repeating: "\"a\" ", count: 2000) + ")", in: request)
        let error = refusal { () throws(SignatureError) in try verifier().verify(big, now: testNow) }
        #expect(error?.code == .malformed)
        #expect((error?.message.utf8.count ?? 0) < 300)
    }

    @Test func errorCodesHaveWireNames() {
        #expect(SignatureError.Code.stale.wireCode == "signature_stale")
        #expect(Set(SignatureError.Code.allCases.map(\.wireCode)).count == SignatureError.Code.allCases.count)
        #expect(SignatureError.Code.allCases.filter { $0.httpStatus != 401 } == [.cacheFull, .clientBudget])
    }
}

extension String {
    /// This Signature-Input with the keyid of `publicKey` replaced by `keyID`.
    func replacingKeyID(with keyID: String, from publicKey: [UInt8]) -> String {
        let old = "keyid=\"\(RequestSigner.keyID(for: publicKey))\""
        guard let range = firstRange(of: old) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: "keyid=\"\(keyID)\"")
        return copy
    }
}
