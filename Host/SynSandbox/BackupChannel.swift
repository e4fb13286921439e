import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The socket pair an app's backup copy streams through (`BackupStream` records): each of the app's workers gets a
/// duplicate of `workerEnd` as its backup file; the host reads `hostEnd` (non-blocking) and writes the copy itself.
/// One per app, kept across its workers' restarts; closed with the last reference.
public final class BackupChannel: Sendable, Equatable {
    public let hostEnd: Int32
    public let workerEnd: Int32
    /// Socket buffers: a 1 MiB window keeps the worker's copy from waiting on each page.
    static let bufferBytes: Int32 = 1 << 20

    public init?() {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else { return nil }
        hostEnd = fds[0]
        workerEnd = fds[1]
        var size = Self.bufferBytes
        _ = setsockopt(hostEnd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(workerEnd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        // The host only reads; the workers only write.
        _ = shutdown(hostEnd, Int32(SHUT_WR))
        _ = fcntl(hostEnd, F_SETFL, fcntl(hostEnd, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(hostEnd)
        close(workerEnd)
    }

    public static func == (a: BackupChannel, b: BackupChannel) -> Bool { a === b }
}
