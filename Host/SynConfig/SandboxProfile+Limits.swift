extension SandboxProfile {
    /// Resource limits for each worker of an app.
    public struct Limits: Sendable, Equatable {
        /// Address-space / cgroup memory limit, MiB (8...65536).
        public var memoryMB: Int
        /// Processes and threads (1...4096).
        public var pids: Int
        /// CPU share; 100 = one full core (1...6400).
        public var cpuPercent: Int
        /// Deadline of one call, ms (1...600_000).
        public var callTimeoutMs: Int
        /// Largest frame on the worker link, KiB (1...65_536).
        public var maxFrameKB: Int
        /// RLIMIT_NOFILE (4...65_536).
        public var openFiles: Int
        /// Lifetime CPU budget of one worker, seconds; RLIMIT_CPU (1...604_800).
        public var cpuSeconds: Int
        /// Worker processes per app (1...64).
        public var instances: Int
        /// Calls waiting before the app reports busy (0...100_000).
        public var queueDepth: Int

        public init(memoryMB: Int = 64, pids: Int = 16, cpuPercent: Int = 100, callTimeoutMs: Int = 5000,
                    maxFrameKB: Int = 1024, openFiles: Int = 16, cpuSeconds: Int = 3600, instances: Int = 1,
                    queueDepth: Int = 64) {
            self.memoryMB = memoryMB
            self.pids = pids
            self.cpuPercent = cpuPercent
            self.callTimeoutMs = callTimeoutMs
            self.maxFrameKB = maxFrameKB
            self.openFiles = openFiles
            self.cpuSeconds = cpuSeconds
            self.instances = instances
            self.queueDepth = queueDepth
        }
    }
}
