import Foundation
import SynSQLite
import SynSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The host's side of an app's backup copy (`BackupStream`): on a thread of its own, it reads the records the app's
/// worker streams while it copies its database, and writes them into the copy file, whose pages are then the node's
/// (the worker's small memory cgroup would throttle them to the disk). The app shares the process that writes the
/// records, so they are hostile: a record that is not one, or past `limit` bytes, ends the copy with a failure
/// (this app's backup only).
final class CopyStream: @unchecked Sendable {
    private struct State {
        var consumed: Int64 = 0
        var failure: String?
        var stop = false
        var exited = false
    }

    private let source: Int32
    private let target: Int32
    private let limit: UInt64
    /// Held while the copy runs, so its descriptor stays open (nil in tests that pass a descriptor alone).
    private let channel: AnyObject?
    /// Bytes and truncations a copy may apply: a few times its limit, so an app cannot make the node write without
    /// end while its backup runs.
    private var budget: (bytes: UInt64, truncations: Int)
    private let state = Mutex(State())
    private let changed = NSCondition()
    /// The largest record: a page is at most 64 KiB; SQLite writes one at a time.
    static let maxRecord = 1 << 20

    init(source: Int32, target: Int32, limit: UInt64, channel: AnyObject? = nil) {
        self.source = source
        self.target = target
        self.limit = limit
        self.channel = channel
        budget = (3 * limit, 64)
    }

    /// Discards what an earlier copy (or the app) left in `fd`: at most `maxBytes`, since the app may keep writing.
    static func drain(_ fd: Int32, maxBytes: Int = 64 << 20) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var total = 0
        while total < maxBytes {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            total += n
        }
    }

    func start() -> Bool { OSThread.start(name: "syn-backup-copy") { [self] in run() } }

    /// Waits until `bytes` of the stream are applied; nil then, else why not (a failure, or `deadline` passed).
    /// Between steps the app's own commits add records (the backup follows its writes), so more may have arrived;
    /// after the last step, when the copy is closed, exactly that many must have.
    func wait(for bytes: Int64, exact: Bool, deadline: Int64) -> String? {
        changed.lock()
        defer { changed.unlock() }
        while true {
            let (consumed, failure) = state.withLock { ($0.consumed, $0.failure) }
            if let failure { return failure }
            if exact ? consumed == bytes : consumed >= bytes { return nil }
            if exact && consumed > bytes { return "its worker streamed more than it said (\(consumed) bytes, not \(bytes))" }
            let left = deadline - MonotonicClock.nowNs()
            guard left > 0 else { return "its copy did not arrive in time" }
            _ = changed.wait(until: Date().addingTimeInterval(min(Double(left) / 1e9, 1)))
        }
    }

    /// Stops the thread (at once, whatever the app goes on writing into the stream).
    func finish() {
        state.withLock { $0.stop = true }
        changed.lock()
        while !state.withLock({ $0.exited }) { _ = changed.wait(until: Date().addingTimeInterval(0.1)) }
        changed.unlock()
    }

    private func fail(_ why: String) {
        state.withLock { $0.failure = $0.failure ?? why }
    }

    private func run() {
        defer {
            state.withLock { $0.exited = true }
            changed.lock(); changed.broadcast(); changed.unlock()
        }
        var pending = [UInt8]()
        pending.reserveCapacity(2 << 20)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var failed = false
        while true {
            var poller = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 50)
            let n = ready > 0 ? chunk.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) } : 0
            if n > 0 && !failed {
                pending.append(contentsOf: chunk[0..<n])
                if let why = apply(&pending) {
                    fail(why)
                    // Read on and discard until told to stop: a worker in the middle of a step does not block.
                    failed = true
                    pending = []
                    changed.lock(); changed.broadcast(); changed.unlock()
                }
            }
            // Asked to stop (what the steps streamed is applied by then): stop now, even if the app keeps writing.
            if state.withLock({ $0.stop }) { return }
        }
    }

    /// Applies every whole record at the start of `pending` and removes them; why not, when one is not a record.
    private func apply(_ pending: inout [UInt8]) -> String? {
        var at = 0
        var applied: Int64 = 0
        defer {
            if at > 0 { pending.removeFirst(at) }
            if applied > 0 {
                state.withLock { $0.consumed += applied }
                changed.lock(); changed.broadcast(); changed.unlock()
            }
        }
        while pending.count - at >= BackupStream.headerSize {
            let magic = Self.u32(pending, at), count = Self.u32(pending, at + 4), offset = Self.u64(pending, at + 8)
            guard magic == BackupStream.magic else { return "its copy stream holds something that is not a record" }
            if count == BackupStream.truncate {
                guard offset <= limit else { return "its copy would be \(offset) bytes, past \(limit)" }
                budget.truncations -= 1
                guard budget.truncations >= 0 else { return "its copy stream truncates the copy again and again" }
                guard ftruncate(target, off_t(offset)) == 0 else { return "cannot truncate the copy: errno \(errno)" }
                at += BackupStream.headerSize
                applied += Int64(BackupStream.headerSize)
                continue
            }
            guard count > 0, count <= Self.maxRecord, offset <= limit, offset + UInt64(count) <= limit else {
                return "its copy stream writes \(count) bytes at \(offset), past the \(limit) a copy of it may hold"
            }
            guard budget.bytes >= UInt64(count) else { return "its copy stream writes more than three times what a copy of it may hold" }
            budget.bytes -= UInt64(count)
            let end = at + BackupStream.headerSize + Int(count)
            guard pending.count >= end else { break }
            let written = pending.withUnsafeBytes { b in
                b.baseAddress.map { pwrite(target, $0 + at + BackupStream.headerSize, Int(count), off_t(offset)) } ?? -1
            }
            guard written == Int(count) else { return "cannot write the copy: errno \(errno) (is the disk full?)" }
            at = end
            applied += Int64(BackupStream.headerSize) + Int64(count)
        }
        return nil
    }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    private static func u64(_ b: [UInt8], _ at: Int) -> UInt64 {
        UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32
    }
}
