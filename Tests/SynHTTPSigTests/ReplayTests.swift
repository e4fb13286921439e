import SynHTTPSig
import SynSodium
import Testing

/// Replays: nonces, signatures without one, the window, one client's share, and racing replays.
extension VerifierTests {
    @Test func refusesReplayedNonce() throws {
        let check = verifier()
        _ = try check.verify(signed(nonce: "same"), now: testNow)
        // A different signature (later created) reusing the nonce.
        let again = try signed(created: testNow + 1, nonce: "same")
        let error = refusal { () throws(SignatureError) in try check.verify(again, now: testNow + 1) }
        #expect(error?.code == .replay)
        #expect(error?.message.contains("nonce") == true)
        // Nonces are per keyid: another key may use the same nonce.
        let other = try SigningKey.generate()
        let headers = try RequestSigner(key: other).sign(method: "GET", url: echoURL, created: testNow, nonce: "same")
        #expect(refusal { () throws(SignatureError) in
            try check.verify(try serverRequest(method: "GET", url: echoURL, signed: headers), now: testNow)
        } == nil)
    }

    @Test func refusesReplayedSignatureWithoutNonce() throws {
        let check = verifier()
        let request = try signed(nonce: nil)
        _ = try check.verify(request, now: testNow)
        let error = refusal { () throws(SignatureError) in try check.verify(request, now: testNow + 10) }
        #expect(error?.code == .replay)
        #expect(error?.message.contains("signature") == true)
    }

    @Test func replayMemoryExpiresAfterTheWindow() throws {
        let check = verifier(window: 10)
        let request = try signed(nonce: "x")
        _ = try check.verify(request, now: testNow)
        #expect(check.replayCache.count == 2)
        // Past created + window the signature itself is stale, and the entries are purged.
        let later = try signed(created: testNow + 20, nonce: "x")
        _ = try check.verify(later, now: testNow + 20)
        #expect(check.replayCache.count == 2)
    }

    @Test func oneClientsShareIsRefusedToItAlone() throws {
        let check = verifier(capacity: 3)
        _ = try check.verify(signed(nonce: "a"), now: testNow)
        let error = refusal { () throws(SignatureError) in try check.verify(try signed(nonce: "b"), now: testNow) }
        #expect(error?.code == .clientBudget)
        #expect(error?.code.httpStatus == 429)
        // One entry left in its share: a request without a nonce still fits.
        #expect(refusal { () throws(SignatureError) in try check.verify(try signed(nonce: nil), now: testNow) } == nil)
        // Another client still gets in.
        _ = try check.verify(signed(nonce: "c"), now: testNow) { _ in .client("198.51.100.7") }
    }

    @Test func concurrentReplaysAdmitExactlyOne() async throws {
        let check = verifier()
        let request = try signed(nonce: "race")
        let successes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<32 {
                group.addTask { (try? check.verify(request, now: testNow)) != nil }
            }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        #expect(successes == 1)
    }
}
