import SynSandbox

/// A completion that the first of several racers runs; later ones are ignored.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = Mutex()
    private var complete: (@Sendable (T) -> Void)?

    init(_ complete: @escaping @Sendable (T) -> Void) { self.complete = complete }

    func resume(_ value: T) {
        let pending: (@Sendable (T) -> Void)? = lock.withLock {
            defer { complete = nil }
            return complete
        }
        pending?(value)
    }
}
