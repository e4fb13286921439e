/// How an app's workers are scaled and restarted.
public struct SupervisorPolicy: Sendable, Equatable {
    /// Worker processes serving the app.
    public var instances: Int
    /// Calls that may wait for an instance before new calls are answered `busy`.
    public var queueDepth: Int
    /// First restart delay; doubles per consecutive death up to `maxBackoffMs`.
    public var initialBackoffMs: Int
    public var maxBackoffMs: Int
    /// The app is marked `failed` after `maxDeaths` deaths within `windowMs`.
    public var maxDeaths: Int
    public var windowMs: Int

    public init(instances: Int = 1, queueDepth: Int = 64, initialBackoffMs: Int = 100, maxBackoffMs: Int = 30_000,
                maxDeaths: Int = 5, windowMs: Int = 60_000) {
        self.instances = instances
        self.queueDepth = queueDepth
        self.initialBackoffMs = initialBackoffMs
        self.maxBackoffMs = maxBackoffMs
        self.maxDeaths = maxDeaths
        self.windowMs = windowMs
    }

    /// The restart delay after `consecutive` deaths in a row (1-based).
    public func backoffMs(afterConsecutiveDeaths consecutive: Int) -> Int {
        let shift = min(max(consecutive - 1, 0), 30)
        return min(maxBackoffMs, initialBackoffMs << shift)
    }
}
