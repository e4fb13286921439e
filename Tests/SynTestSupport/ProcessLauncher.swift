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

extension ProcessLauncher {
    /// Runs `executable` with `arguments` to its end (environment: this process's, with `environment` on top; in
    /// `directory` when given); its exit status and its stdout and stderr together.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           directory: String? = nil) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try launch(p)
        let output = String(decoding: readAll(out.fileHandleForReading), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, output)
    }
}
