public import SynWire

/// Everything needed to start one worker for one app.
public struct WorkerSpec: Sendable {
    public var appID: String
    /// The resolved path of the app's shared library (opened by the host, passed as a descriptor).
    public var libraryPath: String
    /// Bytes passed to the app's `init`.
    public var config: [UInt8]
    /// The sandbox description sent to the worker.
    public var setup: WorkerSetup
    /// Limits enforced through the worker's cgroup.
    public var memoryBytes: UInt64
    public var pids: Int
    public var cpuPercent: Int
    /// Deadline of each call, and of loading plus `init`.
    public var callTimeoutMs: Int
    public var initTimeoutMs: Int
    /// The largest message accepted from the worker.
    public var maxMessage: Int
    /// The `synapp-worker` executable.
    public var workerExecutable: String
    /// More than one instance of the app runs at once (`limits.instances`), so they share its database.
    public var sharedDatabase = false

    public init(appID: String, libraryPath: String, config: [UInt8], setup: WorkerSetup, memoryBytes: UInt64,
                pids: Int, cpuPercent: Int, callTimeoutMs: Int, initTimeoutMs: Int = 10_000, maxMessage: Int,
                workerExecutable: String) {
        self.appID = appID
        self.libraryPath = libraryPath
        self.config = config
        self.setup = setup
        self.memoryBytes = memoryBytes
        self.pids = pids
        self.cpuPercent = cpuPercent
        self.callTimeoutMs = callTimeoutMs
        self.initTimeoutMs = initTimeoutMs
        self.maxMessage = maxMessage
        self.workerExecutable = workerExecutable
    }
}
