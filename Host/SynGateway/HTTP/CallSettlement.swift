import Synchronization

/// Which of an app call's two ends comes first: the app's answer or the gateway's `request_timeout_ms`. Only the
/// first is answered and counted in the metrics; the other is dropped.
final class CallSettlement: Sendable {
    private let done = Atomic<Bool>(false)

    /// True for the first caller only.
    func settle() -> Bool { !done.exchange(true, ordering: .acquiringAndReleasing) }
}
