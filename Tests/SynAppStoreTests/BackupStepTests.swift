import Foundation
import SynAppStore
import SynSQLite
import Testing

/// The app's database copied by the online backup in steps between calls: what calls commit between steps is in
/// the copy, and the copy is a sound database.
@Suite struct BackupStepTests {
    @Test func stepsBetweenCallsCopyEverythingCommitted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try AppStoreFiles.prepare(directory: dir)
        let store = try AppStore(path: dir + "/app.db", quotaBytes: 64 << 20, callTimeoutMs: 5000, shared: false)
        let value = [UInt8](repeating: 7, count: 4000)
        func put(_ i: Int) throws {
            store.beginCall()
            _ = try store.put(key: Array("k\(i)".utf8), value: value, ifVersion: 0)
            #expect(store.endCall(commit: true) == nil)
        }
        for i in 0..<500 { try put(i) }
        var steps = 0, written = 500
        while true {
            let progress = try store.backupStep(pages: 16).get()
            steps += 1
            if progress.done { break }
            // A call between steps: its write lands in the copy too.
            try put(written)
            written += 1
        }
        #expect(steps > 2)
        let copy = try Database(path: dir + "/app.db-backup", options: { var o = Database.Options(); o.readOnly = true; return o }())
        #expect(try copy.query("PRAGMA integrity_check").first?.first == .text("ok"))
        #expect(try copy.query("SELECT count(*) FROM syn_kv").first?.first == .integer(Int64(written)))
    }
}
