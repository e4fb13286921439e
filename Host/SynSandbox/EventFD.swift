import CSynSys
#if canImport(Glibc)
import Glibc
#endif

/// A Linux eventfd used to wake the supervisor's instance threads. In semaphore mode each `signal` wakes exactly
/// one `take`.
final class EventFD: @unchecked Sendable {
    let fd: Int32
    init(semaphore: Bool) {
        fd = csyn_eventfd(semaphore ? 1 : 0)
    }
    deinit { close(fd) }

    func signal(_ n: UInt64 = 1) {
        var v = n
        _ = write(fd, &v, 8)
    }

    /// Takes one token; false if none was available.
    func take() -> Bool {
        var v: UInt64 = 0
        return read(fd, &v, 8) == 8
    }
}
