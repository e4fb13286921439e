import Foundation

/// Runs `body`, which blocks (child processes, polling with `usleep`), on a thread of its own and awaits it, so a
/// long multi-process test does not hold one of the few threads of Swift's cooperative pool (two on a two-core
/// machine) that every async test in the run shares. The cost: an expectation that fails inside `body` is reported
/// under an unknown test (Swift Testing finds the current test through task-locals, which a thread does not
/// carry); it still fails the run, and its file and line name it.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        Thread.detachNewThread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
    }
}
