import CSynSys
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A pre-started `synapp-worker --template` that clones new workers, so a worker's cold start skips exec and
/// dynamic linking of the Swift runtime. The clones are the host's own children (CLONE_PARENT).
///
/// There is one template per set of preloaded runtime libraries (`WorkerSetup.preload`): a Swift app's workers
/// share the template's relocated copy of the Swift runtime, and a C app's workers never map it.
///
/// If the template cannot be started or dies, callers fall back to `posix_spawn`.
final class WorkerTemplate: @unchecked Sendable {
    /// The running templates, by executable and preload list. Spawning goes through this lock: a template's
    /// control socket carries one clone at a time.
    private static let templates = Mutex<[String: WorkerTemplate]>([:])

    private let control: Int32
    private let pid: pid_t

    private init?(executable: String, preload: [String]) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            return nil
        }
        var child: pid_t = 0
        let r = withCStrings(["synapp-worker", "--template"] + preload) { argv in
            withCStrings(["SWIFT_BACKTRACE=enable=no", "LANG=C"]) { env in
                csyn_spawn_worker(executable, argv, env, fds[1], -1, -1, &child)
            }
        }
        close(fds[1])
        guard r == 0 else { close(fds[0]); return nil }
        control = fds[0]
        pid = child
    }

    deinit {
        close(control)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Clones a worker whose fd 3 is `link` and fd 4 is `library` from the template that has `preload` loaded.
    /// Returns its pid, or nil to fall back.
    static func spawn(executable: String, preload: [String], link: Int32, library: Int32) -> pid_t? {
        let key = ([executable] + preload).joined(separator: "\u{0}")
        return Self.templates.withLock { templates in
            for attempt in 0..<2 {
                if templates[key] == nil { templates[key] = WorkerTemplate(executable: executable, preload: preload) }
                guard let template = templates[key] else { return nil }
                if let pid = template.clone(link: link, library: library) { return pid }
                templates[key] = nil // dead or broken: start a fresh one once
                if attempt == 1 { return nil }
            }
            return nil
        }
    }

    private func clone(link: Int32, library: Int32) -> pid_t? {
        guard csyn_send_fds(control, link, library, 0) == 0 else { return nil }
        var answer: Int32 = 0
        var n: Int
        repeat { n = withUnsafeMutableBytes(of: &answer) { read(control, $0.baseAddress, 4) } } while n < 0 && errno == EINTR
        guard n == 4, answer > 0 else { return nil }
        return answer
    }
}
