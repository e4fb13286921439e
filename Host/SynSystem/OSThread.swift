import CSynSys
#if canImport(Glibc)
import Glibc
#endif

/// Starts a detached OS thread. The supervisor's instance threads block in `poll` and in worker calls, which
/// must not happen on Swift's cooperative pool; a worker's spawning thread must also outlive the worker.
public enum OSThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Returns false, without running `body`, when the system refuses a thread (`RLIMIT_NPROC`, memory).
    /// - Parameter name: the thread's name in `ps -L`, `top -H` and `perf` (cut to 15 bytes, the kernel's limit).
    @discardableResult
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let short = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        let box = Unmanaged.passRetained(Box {
            _ = csyn_set_thread_name(short)
            body()
        }).toOpaque()
        var thread = pthread_t()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        let r = pthread_create(&thread, &attr, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, box)
        pthread_attr_destroy(&attr)
        guard r == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        return true
    }
}
