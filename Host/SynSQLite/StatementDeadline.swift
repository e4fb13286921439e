import CSynSQLite
import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// A time limit on SQL run through one connection: a progress handler checks the monotonic clock every few
/// thousand virtual-machine steps and interrupts the statement past the deadline (`SQLITE_INTERRUPT`, code 9).
/// Lives as long as its connection.
final class StatementDeadline {
    /// Monotonic nanoseconds; 0 means no deadline.
    var deadlineNs: Int64 = 0

}

extension Database {
    /// Interrupts any statement of this connection still running `milliseconds` from now; nil removes the limit.
    /// A statement past it fails with `SQLiteError.interrupt`. The corresponding C function is
    /// `sqlite3_progress_handler`.
    public func limitStatements(toMilliseconds milliseconds: Int?) {
        guard let handle else { return }
        guard let milliseconds else {
            deadline.deadlineNs = 0
            return
        }
        deadline.deadlineNs = MonotonicClock.nowNs() + Int64(milliseconds) * 1_000_000
        sqlite3_progress_handler(handle, 4000, { context in
            guard let context else { return 0 }
            let deadline = Unmanaged<StatementDeadline>.fromOpaque(context).takeUnretainedValue()
            return deadline.deadlineNs != 0 && MonotonicClock.nowNs() > deadline.deadlineNs ? 1 : 0
        }, Unmanaged.passUnretained(deadline).toOpaque())
    }
}
