import Foundation
import SynAppStore
import Testing

/// The receiving side of `net_send` in the app's database: a message is the next one, a repeat, or past a gap,
/// against the last sequence applied from its peer, and that record commits or rolls back with the call.
@Suite struct PeerMessageTests {
    static func store() throws -> AppStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try AppStoreFiles.prepare(directory: dir)
        return try AppStore(path: dir + "/app.db", quotaBytes: 1 << 20, callTimeoutMs: 5000)
    }

    @Test func eachMessageIsAppliedOnceAndInOrder() throws {
        let store = try Self.store()
        let peer = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
        store.beginCall()
        #expect(try store.placePeerMessage(peer: peer, seq: 2) == .gap(applied: 0))
        #expect(try store.placePeerMessage(peer: peer, seq: 1) == .next)
        try store.recordPeerMessage(peer: peer, seq: 1)
        #expect(store.endCall(commit: true) == nil)
        // A call that fails takes its record back: the message comes again and is still the next one.
        store.beginCall()
        #expect(try store.placePeerMessage(peer: peer, seq: 2) == .next)
        try store.recordPeerMessage(peer: peer, seq: 2)
        #expect(store.endCall(commit: false) == nil)
        store.beginCall()
        #expect(try store.placePeerMessage(peer: peer, seq: 1) == .duplicate(applied: 1))
        #expect(try store.placePeerMessage(peer: peer, seq: 2) == .next)
        // Each peer counts on its own.
        #expect(try store.placePeerMessage(peer: "other", seq: 1) == .next)
        _ = store.endCall(commit: false)
    }

    @Test func appSQLCannotTouchTheRecord() throws {
        let store = try Self.store()
        store.beginCall()
        #expect(throws: StoreFailure.self) {
            _ = try store.exec(sql: Array("UPDATE syn_net_applied SET seq = 0".utf8), parameters: Array("[]".utf8))
        }
        _ = store.endCall(commit: false)
    }
}
