import SynSandbox

/// A continuation that the first of several racers resumes; later resumptions are ignored.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = Mutex()
    private var continuation: CheckedContinuation<T, Never>?

    init(_ continuation: CheckedContinuation<T, Never>) { self.continuation = continuation }

    func resume(_ value: T) {
        let pending: CheckedContinuation<T, Never>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        pending?.resume(returning: value)
    }
}
