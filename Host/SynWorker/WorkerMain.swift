import CSynSys
import SynAppStore
import SynSQLite
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// The worker's life: read the setup, build the sandbox, load the app, serve.
///
/// Process tree: the spawned process (outside the new pid namespace) waits for a tiny init (PID 1), which waits
/// for the app (PID 2) and reports its fate on the link. Only the app process runs app code.
enum WorkerMain {
    static let linkFD: Int32 = 3

    static func run() -> Never {
        if CommandLine.arguments.dropFirst().first == "--echo" { echo() }
        if CommandLine.arguments.dropFirst().first == "--template" { serveAsTemplate() } // returns in a new worker
        let link = FrameLink(fd: linkFD, maxMessage: 1 << 20)
        let setup: WorkerSetup
        do {
            let frame = try link.receive()
            guard frame.kind == .call, frame.op == CallOp.setup.rawValue else { exit(72) }
            setup = try WorkerSetup.decode(frame.payload)
        } catch { exit(72) }
        // The app's database files follow the setup, as descriptors the host opened.
        var databaseFDs: [Int32] = []
        if setup.storage != nil {
            var fds = [Int32](repeating: -1, count: 8), n: Int32 = 0, tag: Int32 = 0
            guard csyn_recv_fd_array(linkFD, &fds, 4, &n, &tag) == 0, n == 4 else { exit(72) }
            databaseFDs = Array(fds.prefix(4))
        }
        if setup.pinCPU >= 0 { _ = csyn_pin_cpu(0, setup.pinCPU) }
        // The host's choice of runtime libraries, loaded while the host's files are still visible and before any
        // filter (a clone of a template has them already). One that fails to load is the app's `dlopen`'s to report.
        preload(setup.preload)
        do throws(WorkerFailure) {
            let handle: UnsafeMutableRawPointer
            var store: AppStore?
            if setup.unsandboxed {
                store = try openStore(setup, databaseFDs)
                handle = try LoadedApp.open(path: "/proc/self/fd/4")
            } else {
                (handle, store) = try enterSandbox(setup, databaseFDs)
            }
            let app = try LoadedApp.bind(handle, expectedID: setup.appID)
            let serving = FrameLink(fd: linkFD, maxMessage: Int(clamping: setup.maxMessage))
            let context = CallContext(link: serving, arenaLimit: Int(clamping: setup.arenaLimit),
                                      maxMessage: Int(clamping: setup.maxMessage), store: store,
                                      kv: setup.storage?.kv ?? false, sql: setup.storage?.sql ?? false)
            context.clientNotices = setup.clientNotices
            context.probe = setup.probe
            Server(link: serving, app: app, context: context).run()
        } catch {
            var w = WireWriter()
            w.raw(error.message.utf8.prefix(4000))
            try? link.send(.fatal, op: error.op.rawValue, payload: w.bytes)
            exit(70)
        }
    }

    /// Containment steps 1 to 9 of docs/architecture.md. Returns (in the app process only) the opened library and the app's
    /// database, opened before any of the app's code runs.
    private static func enterSandbox(_ setup: WorkerSetup, _ databaseFDs: [Int32]) throws(WorkerFailure)
        -> (UnsafeMutableRawPointer, AppStore?)
    {
        let builder = SandboxBuilder(setup: setup)
        try builder.joinCgroups()
        let outer = try builder.dropToUnprivileged()
        try builder.enterNamespaces(outer: outer)
        let initPID = csyn_fork()
        guard initPID >= 0 else { throw .setup("fork init", errno: errno) }
        if initPID > 0 { waitForInit(initPID, closing: databaseFDs) }
        // PID 1 of the new namespace.
        _ = csyn_set_parent_death_signal(SIGKILL)
        let appPID = csyn_fork()
        guard appPID >= 0 else { throw .setup("fork app", errno: errno) }
        if appPID > 0 { runInit(app: appPID, closing: databaseFDs) }
        // PID 2: the app process.
        _ = csyn_set_parent_death_signal(SIGKILL)
        try builder.buildRoot()
        try builder.limitAndDropPrivileges()
        let store = try openStore(setup, databaseFDs)
        guard csyn_install_sigsys_reporter(linkFD) == 0 else { throw .setup("install SIGSYS reporter", errno: errno) }
        let filter = SeccompFilter(setup: setup)
        try filter.installLoaderStage()
        let handle = try LoadedApp.open(path: "/app/" + setup.libraryName)
        try filter.installProfileStage()
        return (handle, store)
    }

    /// Where SQLite finds the app's files: names only, served from the host's descriptors by the jail.
    static let databasePath = "/syneroym/app.db"

    /// Opens the app's database on the descriptors the host passed: SQLite is confined to them (no path is ever
    /// opened), and a write past the quota fails with EFBIG instead of killing the process.
    private static func openStore(_ setup: WorkerSetup, _ fds: [Int32]) throws(WorkerFailure) -> AppStore? {
        guard let storage = setup.storage, fds.count == 4 else { return nil }
        guard csyn_ignore_sigxfsz() == 0 else { throw .setup("ignore SIGXFSZ", errno: errno) }
        // A backup stream the host closed fails the write (EPIPE) instead of killing the worker.
        signal(SIGPIPE, SIG_IGN)
        do throws(SQLiteError) {
            // The backup copy's name is a stream to the host when the host passed a socket (it writes the file:
            // `BackupStream`), else the file itself.
            var st = stat()
            let stream = fstat(fds[3], &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK
            let files = [databasePath: fds[0], databasePath + "-wal": fds[1], databasePath + "-shm": fds[2]]
            let backup = [databasePath + AppStore.backupSuffix: fds[3]]
            try DescriptorJail.install(stream ? files : files.merging(backup) { a, _ in a }, streams: stream ? backup : [:])
        } catch {
            throw .setup("confine SQLite to the app's files: \(error.message)")
        }
        do throws(StoreFailure) {
            return try AppStore(path: databasePath, quotaBytes: Int64(clamping: storage.quotaBytes),
                                callTimeoutMs: Int(storage.callTimeoutMs), shared: storage.shared,
                                hostCursor: (storage.cursorEpoch, storage.cursorSeq))
        } catch {
            throw .setup(error.message)
        }
    }

    /// The outer process: waits for init and exits with its status (128+signal if it was killed). If the host
    /// closes its end of the link (it exited or released the worker), kills the whole namespace.
    ///
    /// A parent-death signal is not used here: it follows the host *thread* that spawned us, not the process.
    private static func waitForInit(_ pid: pid_t, closing databaseFDs: [Int32]) -> Never {
        close(4)
        for fd in databaseFDs { close(fd) }
        let pidfd = csyn_pidfd_open(pid)
        var fds = [pollfd(fd: linkFD, events: 0, revents: 0), pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
        while pidfd >= 0 {
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue } else { break } }
            if fds[1].revents != 0 { break }
            if fds[0].revents & Int16(POLLHUP | POLLERR) != 0 { kill(pid, SIGKILL); break }
        }
        close(linkFD)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 { if errno != EINTR { exit(71) } }
        if csyn_wifsignaled(status) != 0 { exit(128 + csyn_wtermsig(status)) }
        exit(csyn_wexitstatus(status))
    }

    /// PID 1: reaps everything and reports the app's fate faithfully on the link.
    private static func runInit(app: pid_t, closing databaseFDs: [Int32]) -> Never {
        close(4)
        for fd in databaseFDs { close(fd) }
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, 0)
            if pid < 0 { if errno == EINTR { continue } else { exit(71) } }
            guard pid == app else { continue }
            let signaled = csyn_wifsignaled(status) != 0
            let payload: [Int32] = [signaled ? 1 : 0, signaled ? csyn_wtermsig(status) : csyn_wexitstatus(status)]
            _ = payload.withUnsafeBytes {
                csyn_send_frame(linkFD, FrameKind.fatal.rawValue, 0, FatalOp.appFate.rawValue, $0.baseAddress, $0.count)
            }
            exit(0)
        }
    }

    /// `--template`: an already-loaded, idle worker that clones fresh workers on request, so a cold start skips
    /// exec and dynamic linking. Each request carries the new worker's link and library descriptors; the clone
    /// is made with CLONE_PARENT, so the host is its parent (it reaps and classifies it as usual). The template
    /// answers with the new pid, and exits when the host closes the control socket.
    /// Loads runtime libraries the host named (never the app's).
    private static func preload(_ paths: [String]) {
        for path in paths { _ = dlopen(path, RTLD_NOW | RTLD_LOCAL) }
    }

    /// A template: loads the runtime libraries named after `--template`, then clones a worker for each request.
    private static func serveAsTemplate() {
        preload(Array(CommandLine.arguments.dropFirst(2)))
        let control = linkFD
        while true {
            var link: Int32 = -1, library: Int32 = -1, tag: Int32 = 0
            let r = csyn_recv_fds(control, &link, &library, &tag)
            if r == 1 { exit(0) }
            if r != 0 {
                // The host waits for an answer to every request: a bad one gets an error, not silence.
                var refused = Int32(-EPROTO)
                _ = withUnsafeBytes(of: &refused) { write(control, $0.baseAddress, 4) }
                continue
            }
            let pid = csyn_clone_parent()
            if pid == 0 {
                // The new worker: the link becomes fd 3 and the library fd 4, then the normal life begins.
                close(control)
                // Lift both above the targets first so neither dup2 can clobber the other.
                let highLink = fcntl(link, F_DUPFD, 10)
                let highLibrary = library >= 0 ? fcntl(library, F_DUPFD, 10) : -1
                close(link)
                if library >= 0 { close(library) }
                guard highLink >= 0, dup2(highLink, 3) == 3, highLibrary < 0 || dup2(highLibrary, 4) == 4 else { exit(70) }
                close(highLink)
                if highLibrary >= 0 { close(highLibrary) }
                return
            }
            close(link)
            if library >= 0 { close(library) }
            var answer = Int32(pid > 0 ? pid : -errno)
            _ = withUnsafeBytes(of: &answer) { write(control, $0.baseAddress, 4) }
        }
    }

    /// `--echo`: a plain, unsandboxed packet echo on fd 3; the raw baseline for `syneroym bench rtt`.
    private static func echo() -> Never {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(linkFD, $0.baseAddress, $0.count) }
            if n <= 0 { exit(0) }
            _ = buffer.withUnsafeBytes { write(linkFD, $0.baseAddress, n) }
        }
    }
}
