import Foundation
import SynSQLite
import SynSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The host's side of an app's backup copy (`BackupStream`): on a thread of its own, it reads the records the app's
/// worker streams while it copies its database, checks them (`BackupReplay`) and hands them on (into the archive's
/// entry for the database, which its reader replays), so their pages are the node's to write (the worker's small
/// memory cgroup would throttle them to the disk) and are archived as they are made. The app shares the process
/// that writes the records, so they are hostile: a record that is not one, or past `limit` bytes, ends the copy
/// with a failure (this app's backup only).
final class CopyStream: @unchecked Sendable {
    private struct State {
        var consumed: Int64 = 0
        var failure: String?
        var stop = false
        var exited = false
    }

    private let source: Int32
    /// Takes each run of checked records; says why not when it cannot (the archive cannot be written).
    private let forward: (UnsafeRawBufferPointer) -> String?
    /// Held while the copy runs, so its descriptor stays open (nil in tests that pass a descriptor alone).
    private let channel: AnyObject?
    /// The records' rules, budgets included, so an app cannot make the node write without end while its backup runs.
    private var replay: BackupReplay
    private let state = Mutex(State())
    private let changed = NSCondition()

    init(source: Int32, limit: UInt64, channel: AnyObject? = nil, forward: @escaping (UnsafeRawBufferPointer) -> String?) {
        self.source = source
        self.forward = forward
        self.channel = channel
        replay = BackupReplay(limit: limit)
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

    /// Waits until `bytes` of the stream are handed on; nil then, else why not (a failure, or `deadline` passed).
    /// Between steps the app's own commits add records (the backup follows its writes), so more may have arrived;
    /// after the last step, when the copy is closed, exactly that many must have.
    func wait(for bytes: Int64, exact: Bool, deadline: Int64) -> String? {
        changed.lock()
        defer { changed.unlock() }
        while true {
            let (consumed, failure) = state.withLock { ($0.consumed, $0.failure) }
            if let failure { return failure }
            if exact && consumed == bytes {
                // The copy is whole: nothing the app streams after it is handed on.
                state.withLock { $0.stop = true }
                return nil
            }
            if !exact && consumed >= bytes { return nil }
            if exact && consumed > bytes { return "its worker streamed more than it said (\(consumed) bytes, not \(bytes))" }
            let left = deadline - MonotonicClock.nowNs()
            guard left > 0 else { return "its copy did not arrive in time" }
            _ = changed.wait(until: Date().addingTimeInterval(min(Double(left) / 1e9, 1)))
        }
    }

    /// Stops the thread (at once, whatever the app goes on writing into the stream); nothing is handed on after.
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
            // Asked to stop (what the steps streamed is handed on by then): stop now, even if the app keeps writing.
            if state.withLock({ $0.stop }) { return }
            if n > 0 && !failed {
                pending.append(contentsOf: chunk[0..<n])
                if let why = handOn(&pending) {
                    fail(why)
                    // Read on and discard until told to stop: a worker in the middle of a step does not block.
                    failed = true
                    pending = []
                    changed.lock(); changed.broadcast(); changed.unlock()
                }
            }
        }
    }

    /// Checks the whole records at the start of `pending`, hands them on and removes them; why not, when one is not
    /// a record or cannot be handed on.
    private func handOn(_ pending: inout [UInt8]) -> String? {
        let result = pending.withUnsafeBytes { bytes -> Result<Int, BackupReplayError> in
            switch replay.take(bytes) {
            case .success(let n):
                if n > 0, let why = forward(UnsafeRawBufferPointer(rebasing: bytes[0..<n])) { return .failure(BackupReplayError(.io, why)) }
                return .success(n)
            case .failure(let error):
                return .failure(error)
            }
        }
        switch result {
        case .success(let n):
            guard n > 0 else { return nil }
            pending.removeFirst(n)
            state.withLock { $0.consumed += Int64(n) }
            changed.lock(); changed.broadcast(); changed.unlock()
            return nil
        case .failure(let error):
            return error.message
        }
    }
}
