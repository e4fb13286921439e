import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The exclusive hold of one process on a data directory: an `flock` on `<data>/node.lock`, which holds the
/// holder's PID and, once a node serves, its gateway's address (for `doctor`). Taken before anything in the directory is opened and released after the last database is closed,
/// so two nodes (or a node and `syneroym init`) never share a directory. The kernel drops it when the holder dies.
public final class DataDirectoryLock: Sendable {
    public let path: String
    /// The locked descriptor; -1 once released.
    private let fd: Synchronization.Mutex<Int32>
    /// What the holder noted: its gateway's address and where it accepts links (each nil until known).
    private let noted = Synchronization.Mutex<(gateway: String?, links: String?)>((nil, nil))

    /// Takes the lock, or throws `dataDirectoryInUse` naming the PID that holds it. Never waits.
    public init(directory: String) throws(BrokerError) {
        path = directory + "/node.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw BrokerError(.dataDirectory, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var result: Int32
        repeat { result = flock(fd, LOCK_EX | LOCK_NB) } while result != 0 && errno == EINTR
        guard result == 0 else {
            let busy = errno == EWOULDBLOCK
            let holder = Self.contents(fd).first.flatMap { Int32($0) }.flatMap { $0 > 0 ? $0 : nil }
            close(fd)
            guard busy else {
                throw BrokerError(.dataDirectory, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
            let who = holder.map { "syneroym process \($0)" } ?? "another syneroym process"
            throw BrokerError(.dataDirectoryInUse,
                              "the data directory \(directory) is in use by \(who) (it holds \(path)); stop that node first, or pass another --data")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = Synchronization.Mutex(fd)
    }

    deinit { release() }

    /// Notes where the holder's gateway listens (`host:port`), beside its PID.
    public func record(address: String) {
        write(noted.withLock { $0.gateway = address; return $0 })
    }

    /// Notes where the holder accepts links from other nodes (`host:port`), for `peers invite`.
    public func record(links: String) {
        write(noted.withLock { $0.links = links; return $0 })
    }

    /// `pid`, the gateway's address and the links' address, one a line.
    private func write(_ values: (gateway: String?, links: String?)) {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            let text = Array("\(getpid())\n\(values.gateway ?? "")\n\(values.links ?? "")\n".utf8)
            _ = ftruncate(fd, 0)
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
    }

    /// Who holds `directory`, without taking or creating anything: nil when no process does.
    public static func holder(directory: String) -> (pid: Int32?, address: String?, links: String?)? {
        let fd = open(directory + "/node.lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return nil
        }
        let lines = contents(fd)
        let field = { (i: Int) -> String? in lines.count > i && !lines[i].isEmpty ? lines[i] : nil }
        return (lines.first.flatMap { Int32($0) }.flatMap { $0 > 0 ? $0 : nil }, field(1), field(2))
    }

    /// Lets the directory go (idempotent). The PID stays in the file; only the lock says whether it is held.
    public func release() {
        fd.withLock { fd in
            guard fd >= 0 else { return }
            // Unlocked before it is closed: a child forked meanwhile by another thread shares this open file (until
            // its exec closes it), and closing our copy alone would leave the directory held by it.
            _ = flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    /// The lines the holder wrote (PID, then the gateway's address).
    private static func contents(_ fd: Int32) -> [String] {
        var bytes = [UInt8](repeating: 0, count: 512)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return [] }
        return String(decoding: bytes.prefix(n), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}
