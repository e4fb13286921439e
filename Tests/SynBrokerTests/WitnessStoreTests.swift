@testable import SynBroker
import SynSodium
import SynTestSupport
import Testing

/// A node as a witness of its peers' audit logs: it keeps each peer's latest signed head, and keeps proof when a
/// peer's log goes backwards or forks.
@Suite struct WitnessStoreTests {
    let peer: SigningKey
    let dir = TempDir("witness")
    let store: WitnessStore

    init() throws {
        peer = try SigningKey.generate()
        store = try WitnessStore(path: dir.file("node.db"))
    }

    func head(_ seq: Int64, _ fill: UInt8, by key: SigningKey? = nil) -> AuditHead {
        let signer = key ?? peer
        return AuditHead(seq: seq, timeNs: 1_000 + seq, hash: [UInt8](repeating: fill, count: 32), sign: { signer.sign(domain: .node, $0) })
    }

    @Test func newerHeadsAreKept() throws {
        #expect(try store.offer(head(10, 1), from: peer.publicKey, nowNs: 1) == .kept)
        #expect(try store.offer(head(10, 1), from: peer.publicKey, nowNs: 2) == .unchanged)
        #expect(try store.offer(head(64, 2), from: peer.publicKey, nowNs: 3) == .kept)
        #expect(store.head(of: peer.publicKey) == head(64, 2))
        #expect(store.evidenceCount(of: peer.publicKey) == 0)
    }

    @Test func aHeadSignedByAnotherKeyIsIgnored() throws {
        let stranger = try SigningKey.generate()
        #expect(try store.offer(head(5, 1, by: stranger), from: peer.publicKey, nowNs: 1) == .badSignature)
        #expect(store.head(of: peer.publicKey) == nil)
    }

    /// Seen in issue 12: a log truncated with its last checkpoint answered `ok`. A witness that kept a later head
    /// proves it.
    @Test func aLogThatWentBackwardsLeavesEvidence() throws {
        _ = try store.offer(head(180, 3), from: peer.publicKey, nowNs: 1)
        #expect(try store.offer(head(129, 4), from: peer.publicKey, nowNs: 2) == .rolledBack(kept: head(180, 3)))
        #expect(store.head(of: peer.publicKey) == head(180, 3))
        #expect(store.evidenceCount(of: peer.publicKey) == 1)
        // Replaying old heads adds nothing: one piece of evidence per kept head and kind.
        for _ in 0..<50 { #expect(try store.offer(head(129, 4), from: peer.publicKey, nowNs: 3) == .unchanged) }
        #expect(store.evidenceCount(of: peer.publicKey) == 1)
    }

    @Test func aForkedLogLeavesEvidence() throws {
        _ = try store.offer(head(50, 5), from: peer.publicKey, nowNs: 1)
        #expect(try store.offer(head(50, 6), from: peer.publicKey, nowNs: 2) == .forked(kept: head(50, 5)))
        #expect(store.head(of: peer.publicKey) == head(50, 5))
        #expect(store.evidenceCount(of: peer.publicKey) == 1)
    }

    @Test func headsSurviveReopening() throws {
        _ = try store.offer(head(7, 7), from: peer.publicKey, nowNs: 1)
        store.close()
        let again = try WitnessStore(path: dir.file("node.db"))
        defer { again.close() }
        #expect(again.head(of: peer.publicKey) == head(7, 7))
    }
}
