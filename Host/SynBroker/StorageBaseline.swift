#if canImport(Glibc)
import Glibc
#endif

/// The storage benchmark's baseline: the same KV writes through the same `AppStorage` code (same statements,
/// one transaction per request), called directly in the host process with no sandbox and no IPC.
public enum StorageBaseline {
    /// Runs `requests` transactions of `putsPerRequest` puts of 64-byte values into a fresh database in `directory`,
    /// with keys `k<i>` as the benchmark app writes them. Returns the elapsed nanoseconds.
    public static func directPuts(directory: String, requests: Int, putsPerRequest: Int) throws(BrokerError) -> UInt64 {
        let storage: AppStorage
        do { storage = try AppStorage(appID: "baseline", directory: directory, quotaBytes: 1 << 30) } catch {
            throw BrokerError(.storage, error.message)
        }
        let value = [UInt8](repeating: 1, count: 64)
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let start = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        for request in 0..<requests {
            let id = UInt64(request + 1)
            for i in (request * putsPerRequest)..<((request + 1) * putsPerRequest) {
                do { _ = try storage.put(id, key: Array("k\(i)".utf8), value: value, ifVersion: 0, wantVersion: false) } catch {
                    throw BrokerError(.storage, error.message)
                }
            }
            if let failure = storage.finish(id, commit: true) { throw BrokerError(.storage, failure.message) }
        }
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec) - start
    }
}
