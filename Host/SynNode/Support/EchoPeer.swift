import CSynSys
import Foundation
import SynSandbox

/// The raw baseline's other end: a plain (unsandboxed) `synapp-worker --echo` process on a seqpacket socket.
final class EchoPeer {
    private let fd: Int32
    private let pid: pid_t
    private var buffer = [UInt8](repeating: 0, count: 256)
    /// The peer's pid, e.g. to place it in a cgroup.
    var processID: pid_t { pid }

    init(cpu: Int32) throws {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw CLIError("socketpair failed: errno \(errno)")
        }
        var child: pid_t = 0
        let names: [String] = ["synapp-worker", "--echo"]
        let argv: [UnsafeMutablePointer<CChar>?] = names.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env: [UnsafeMutablePointer<CChar>?] = [strdup("SWIFT_BACKTRACE=enable=no"), nil]
        defer { env.forEach { free($0) } }
        let r = csyn_spawn_worker(NodePaths.worker, argv, env, fds[1], -1, -1, &child)
        close(fds[1])
        guard r == 0 else { throw CLIError("cannot spawn the echo peer: errno \(r)") }
        if cpu >= 0 { _ = csyn_pin_cpu(child, cpu) }
        fd = fds[0]
        pid = child
    }

    /// Sends `payload` and waits for it to come back.
    func roundTrip(_ payload: [UInt8]) {
        _ = payload.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        _ = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    }

    func stop() {
        close(fd)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
