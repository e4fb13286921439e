public import Foundation

/// Starts child processes for every test target, one launch at a time: Foundation's `Process.run` has crashed
/// (a bad read in its memcpy) when tests in several suites launched processes at once. Only the launch is
/// serialized; the processes then run together.
public enum ProcessLauncher {
    private static let lock = NSLock()

    public static func launch(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
