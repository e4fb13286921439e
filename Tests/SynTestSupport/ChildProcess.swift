public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, for every test target. Foundation's `Process.run` reads
/// /proc/self/fd to close descriptors in the child and has crashed inside that (a bad `memcpy`) while other threads
/// of the test process opened and closed descriptors; `posix_spawn` never walks the parent's descriptors, and the
/// pipes here are close-on-exec, so the child gets only its three standard streams.
public final class ChildProcess: @unchecked Sendable {
    /// Where a standard stream goes.
    public enum Stream: Sendable {
        /// /dev/null.
        case null
        /// This process's own stream.
        case inherit
        /// A pipe this object reads (`readOutput`, `readErrors`, `outputHandle`, `errorHandle`).
        case pipe
        /// stdout's pipe (for stderr only).
        case stdout
    }

    public let pid: Int32
    private let output: Int32?
    private let errors: Int32?
    private let exit = NSLock()
    private var status: Int32?

    /// Starts `executable` with `arguments` (argv[0] is the executable's name). `environment` nil inherits this
    /// process's; `directory` is the working directory.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                stdout: Stream = .pipe, stderr: Stream = .pipe) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Signals the test runner blocks or handles are the child's defaults again.
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        func pipeEnds() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard let pipe2 = Self.pipe2, pipe2(&fds, O_CLOEXEC) == 0 else { throw ChildProcessError("pipe2: errno \(errno)") }
            opened.append(fds[1])
            return (fds[0], fds[1])
        }
        var outputRead: Int32?
        switch stdout {
        case .null, .stdout: posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        case .inherit: break
        case .pipe:
            let ends = try pipeEnds()
            outputRead = ends.read
            posix_spawn_file_actions_adddup2(&actions, ends.write, 1)
        }
        var errorRead: Int32?
        switch stderr {
        case .null: posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .inherit: break
        case .stdout: posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .pipe:
            let ends = try pipeEnds()
            errorRead = ends.read
            posix_spawn_file_actions_adddup2(&actions, ends.write, 2)
        }
        if let directory {
            guard let addchdir = Self.addchdir else { throw ChildProcessError("this libc has no posix_spawn_file_actions_addchdir_np") }
            _ = addchdir(&actions, directory)
        }
        let argv = [(executable as NSString).lastPathComponent] + arguments
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var child: pid_t = 0
        let result = Self.withCStrings(argv) { a in
            Self.withCStrings(env) { e in posix_spawn(&child, executable, &actions, &attributes, a, e) }
        }
        guard result == 0 else {
            if let outputRead { close(outputRead) }
            if let errorRead { close(errorRead) }
            throw ChildProcessError("cannot start \(executable): errno \(result)")
        }
        pid = child
        output = outputRead
        errors = errorRead
    }

    deinit {
        if let output { close(output) }
        if let errors { close(errors) }
    }

    /// Everything the child writes to its stdout pipe, until it closes it.
    public func readOutput() -> String { String(decoding: Self.readAll(output), as: UTF8.self) }

    /// Everything the child writes to its stderr pipe, until it closes it.
    public func readErrors() -> String { String(decoding: Self.readAll(errors), as: UTF8.self) }

    /// The read end of the stdout pipe, for reading as output arrives (owned by this object).
    public var outputHandle: FileHandle? { output.map { FileHandle(fileDescriptor: $0, closeOnDealloc: false) } }

    /// The read end of the stderr pipe, for reading as output arrives (owned by this object).
    public var errorHandle: FileHandle? { errors.map { FileHandle(fileDescriptor: $0, closeOnDealloc: false) } }

    /// Waits for the child to end: its exit code, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        exit.lock()
        defer { exit.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let code = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = code
        return code
    }

    /// Whether the child is still running (not yet reaped by `wait`).
    public var isRunning: Bool {
        exit.lock()
        defer { exit.unlock() }
        guard status == nil else { return false }
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, WNOHANG)
        guard r == pid else { return r == 0 }
        status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        return false
    }

    /// Sends `signal` (default SIGKILL) if the child still runs.
    public func signal(_ signal: Int32 = SIGKILL) { if isRunning { kill(pid, signal) } }

    private static func readAll(_ fd: Int32?) -> Data {
        guard let fd else { return Data() }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { data.append(contentsOf: buffer[0..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            return data
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }

    /// glibc's `pipe2`, which Swift's Glibc module does not show: the pipe is close-on-exec from the start, so no
    /// child another thread starts meanwhile inherits it (and holds it open).
    private static let pipe2: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
    }()

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), which Swift's Glibc module does not show.
    private static let addchdir: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32).self)
    }()
}

/// A child process that could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
