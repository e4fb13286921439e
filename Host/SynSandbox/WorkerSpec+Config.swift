public import SynConfig
public import SynWire
#if canImport(Glibc)
import Glibc
#endif

extension WorkerSpec {
    /// The spec for one worker of `manifest`'s app under the node owner's `profile`.
    ///
    /// - Parameters:
    ///   - library: the resolved library path (see `AppManifest.resolveLibrary`).
    ///   - workerExecutable: the `synapp-worker` binary.
    public init(manifest: AppManifest, profile: SandboxProfile, library: String, workerExecutable: String) {
        let limits = profile.limits
        let memoryBytes = UInt64(limits.memoryMB) << 20
        var setup = WorkerSetup()
        setup.appID = manifest.id
        setup.libraryName = Self.sandboxName(for: library)
        if profile.filesystem.swiftRuntime, let runtime = RuntimeDirectories.swiftRuntime { setup.bindDirectories.append(runtime) }
        if profile.filesystem.zoneinfo, access("/usr/share/zoneinfo", R_OK) == 0 {
            setup.bindDirectories.append("/usr/share/zoneinfo")
        }
        setup.devURandom = profile.filesystem.urandom
        setup.procfs = profile.filesystem.proc
        setup.addressSpace = Self.addressSpace(memoryBytes: memoryBytes, threads: profile.threads, pids: limits.pids)
        setup.openFiles = UInt64(limits.openFiles)
        setup.processes = UInt64(limits.pids + 2) // the worker's outer process and its init share the uid
        setup.cpuSeconds = UInt64(limits.cpuSeconds)
        switch profile.defaultAction {
        case .kill: setup.defaultAction = .kill
        case .errno: setup.defaultAction = .errno
        case .log: setup.defaultAction = .log
        }
        setup.errnoValue = UInt32(profile.defaultErrno)
        setup.allow = profile.allow
        setup.errnoRules = profile.errnoOverrides.sorted { $0.key < $1.key }
            .map { WorkerSetup.ErrnoRule(syscall: $0.key, errno: UInt32($0.value)) }
        setup.threads = profile.threads
        setup.execMemory = profile.execMemory
        setup.maxMessage = UInt64(limits.maxFrameKB) * 1024
        setup.arenaLimit = min(memoryBytes / 2, UInt64(max(64 << 20, limits.maxFrameKB * 1024 * 2)))
        self.init(appID: manifest.id, libraryPath: library, config: Array(manifest.config.utf8), setup: setup,
                  memoryBytes: memoryBytes, pids: limits.pids, cpuPercent: limits.cpuPercent,
                  callTimeoutMs: limits.callTimeoutMs, initTimeoutMs: max(limits.callTimeoutMs, 10_000),
                  maxMessage: limits.maxFrameKB * 1024, workerExecutable: workerExecutable)
        sharedDatabase = limits.instances > 1
    }

    /// The address-space backstop. The cgroup is the real memory limit; this one must leave room for reservations
    /// that are never touched, or a threaded runtime fails to start threads (Dispatch then traps): an 8 MiB
    /// stack per thread and glibc's 64 MiB malloc arenas, up to 8 per CPU.
    static func addressSpace(memoryBytes: UInt64, threads: Bool, pids: Int) -> UInt64 {
        let base = max(memoryBytes * 4, memoryBytes + (1 << 30))
        guard threads else { return base }
        let cpus = UInt64(max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1))
        let arenas = min(8 * cpus, UInt64(pids))
        return base + UInt64(pids) * (8 << 20) + arenas * (64 << 20)
    }

    /// The library's file name inside the sandbox: its base name, restricted to safe characters.
    static func sandboxName(for path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? "app.so"
        let safe = base.unicodeScalars.map { c -> Character in
            (c.properties.isASCIIHexDigit || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || "._-".unicodeScalars.contains(c))
                ? Character(c) : "_"
        }
        let name = String(safe)
        return name.isEmpty || name.hasPrefix(".") ? "app.so" : name
    }
}

/// Host directories some profiles bind into the sandbox.
public enum RuntimeDirectories {
    /// The directory of the Swift runtime this host runs on (where `libswiftCore.so` was loaded from).
    public static let swiftRuntime: String? = {
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/"), line.hasSuffix("/libswiftCore.so") else { continue }
            let path = line[slash...]
            return String(path.dropLast("/libswiftCore.so".count))
        }
        return nil
    }()

    /// The Swift runtime libraries that Swift modules link by default (concurrency, regex) and that SynAppKit adds
    /// (synchronization, FoundationEssentials), in load order. The worker links none of them.
    static let swiftLibraries = ["libswift_Concurrency.so", "libswift_RegexParser.so", "libswift_StringProcessing.so",
                                 "libswiftSynchronization.so", "libFoundationEssentials.so"]

    /// What a worker loads before its sandbox for an app library that names `needed` (its `DT_NEEDED`): all of
    /// `swiftLibraries` if it names any of them (a Swift app: one template serves every Swift app), else nothing
    /// (a C app never maps them).
    public static func preload(forNeeded needed: [String]) -> [String] {
        guard let runtime = swiftRuntime, needed.contains(where: swiftLibraries.contains) else { return [] }
        return swiftLibraries.map { runtime + "/" + $0 }.filter { access($0, R_OK) == 0 }
    }

    /// The directory holding the running executable (where `synapp-worker` and built products live).
    public static let executableDirectory: String? = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }()
}
