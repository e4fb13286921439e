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

extension ProcessLauncher {
    /// Everything readable from `handle` until end of file. Foundation's `readDataToEndOfFile` traps when a read is
    /// interrupted by a signal (EINTR: a child exiting while many tests run processes), so this reads with `read`
    /// and retries.
    public static func readAll(_ handle: FileHandle) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let fd = handle.fileDescriptor
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { data.append(contentsOf: buffer[0..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            return data
        }
    }
}
