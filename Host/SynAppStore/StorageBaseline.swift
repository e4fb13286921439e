import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// The storage benchmark's baseline: the same KV writes through the same `AppStore` code (same statements, same
/// settings, one transaction per request), called directly in one process with no sandbox and no IPC, on a
/// database that grows as the benchmark app's does.
public final class StorageBaseline {
    private let store: AppStore

    /// A fresh database in `directory`, opened as a lone worker opens its own.
    public init(directory: String) throws(StoreFailure) {
        try AppStoreFiles.prepare(directory: directory)
        store = try AppStore(path: directory + "/app.db", quotaBytes: 1 << 30, callTimeoutMs: 60_000, shared: false)
    }

    /// Runs `requests` transactions of `putsPerRequest` puts of 64-byte values, with keys `k<first>`, `k<first+1>`,
    /// ... as the benchmark app writes them, asking for each new version or not. Returns the elapsed nanoseconds.
    public func puts(first: Int, requests: Int, putsPerRequest: Int, wantVersion: Bool) throws(StoreFailure) -> UInt64 {
        let value = [UInt8](repeating: 1, count: 64)
        let start = MonotonicClock.nowNs()
        for request in 0..<requests {
            store.beginCall()
            for i in (first + request * putsPerRequest)..<(first + (request + 1) * putsPerRequest) {
                _ = try store.put(key: Array("k\(i)".utf8), value: value, ifVersion: 0, wantVersion: wantVersion)
            }
            if let failure = store.endCall(commit: true) { throw failure }
        }
        return UInt64(MonotonicClock.nowNs() - start)
    }

    /// The SQLite work of one put+get request alone: `rounds` transactions, each one blind put and one get of the
    /// same key (as the benchmark app's `putget_blind`), in a fresh database in `directory`. Returns each
    /// transaction's nanoseconds.
    public static func putGetTransactions(directory: String, rounds: Int) throws(StoreFailure) -> [UInt64] {
        try AppStoreFiles.prepare(directory: directory)
        let store = try AppStore(path: directory + "/app.db", quotaBytes: 1 << 30, callTimeoutMs: 60_000, shared: false)
        let key = Array("bench".utf8), value = [UInt8](repeating: 0x76, count: 64)
        var times: [UInt64] = []
        times.reserveCapacity(rounds)
        for _ in 0..<rounds {
            let t0 = MonotonicClock.nowNs()
            store.beginCall()
            _ = try store.put(key: key, value: value, ifVersion: 0, wantVersion: false)
            _ = try store.get(key: key)
            if let failure = store.endCall(commit: true) { throw failure }
            times.append(UInt64(MonotonicClock.nowNs() - t0))
        }
        return times
    }
}
