import Foundation
import SynBroker
import SynConfig
public import SynPackage
import SynSandbox
import SynSodium
import SynSystem
import SynWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `apps install`: signed packages, installed or upgraded with a rollback when the new version does not come up.
extension NodeRuntime {
    /// What the owner accepts with an install.
    public struct InstallOptions: Sendable {
        /// Grant a new app everything its manifest requests (`--grant-requested`); otherwise its node.toml section
        /// grants nothing, and the owner grants what they accept.
        public var grantRequested = false
        /// Accept a package signed by another key than the one pinned for the app id (`--new-developer`).
        public var newDeveloper = false
        public init(grantRequested: Bool = false, newDeveloper: Bool = false) {
            self.grantRequested = grantRequested
            self.newDeveloper = newDeveloper
        }
    }

    /// What an install did.
    public struct Installed: Sendable {
        public let app: String
        public let version: String
        /// The version it replaced, if any.
        public let previous: String?
        public let developer: String
        public let state: String
        /// What the manifest requests, as node.toml grant lines.
        public let requested: [String]
        /// What it requests that node.toml does not grant.
        public let notGranted: [String]
        /// The node.toml section written for a new app, if one was.
        public let section: String?
        public let provenance: PackageHeader.Provenance
        public let sbom: [String]
    }

    /// The pieces of one install between its steps.
    struct Staged {
        let package: VerifiedPackage
        /// Where the package and the library were verified, in `<data>/tmp`.
        let packageFile: String
        let libraryFile: String
    }

    /// Installs the package at `path`, or upgrades the app to it, in this order: verify the package (format,
    /// developer signature, hashes, app id, ABI major) and the key pinned for its app id; check the library's magic
    /// in a sandboxed probe that runs nothing else of the app; then, for an app that runs, stop it, snapshot its
    /// database, start the new version (its `init` and migrations run) and wait for it to be healthy. When any step
    /// after the snapshot fails, the previous library and database are put back and the previous version serves
    /// again. Audited as `app.install` / `app.upgrade`, and `app.rollback` when one happened.
    public func install(package path: String, options: InstallOptions = InstallOptions(), actor: String,
                        tag: String = "") throws(NodeError) -> Installed {
        try exclusively { () throws(NodeError) -> Installed in
            let staged = try stage(path)
            defer { unlink(staged.packageFile); unlink(staged.libraryFile) }
            let package = staged.package, id = package.manifest.id
            let record = try InstalledApp.load(data: layout.data, app: id)
            do throws(NodeError) {
                try checkDeveloper(package, record: record, options: options)
                try checkVersion(package, record: record)
            } catch {
                broker.audit.append(actor: actor, app: id, action: "app.install", decision: "refused",
                                    cause: error.message + AuditLog.requestSuffix(tag))
                throw error
            }
            try probe(package, library: staged.libraryFile)
            let version = try place(staged, actor: actor)
            let known = state.withLock { $0.entries[id] != nil }
            if known {
                return try upgrade(to: package, version: version, record: record, options: options, actor: actor, tag: tag)
            }
            return try installNew(package, version: version, record: record, options: options, actor: actor, tag: tag)
        }
    }

    /// Runs `body` as the node's only change to its apps (install, rollback, backup, enable, disable, restart, add);
    /// another one meanwhile is refused, and so is any once the node is stopping.
    func exclusively<T>(_ body: () throws(NodeError) -> T) throws(NodeError) -> T {
        let (free, stopping) = state.withLock { s in
            let free = !s.installing && !s.stopped
            if free { s.installing = true }
            return (free, s.stopped)
        }
        guard !stopping else { throw NodeError(.busy, "the node is stopping") }
        guard free else { throw NodeError(.busy, "another change to the node's apps (an install, rollback, backup, enable, disable, restart or add) is under way; try again when it has finished") }
        defer { state.withLock { $0.installing = false } }
        return try body()
    }

    /// Copies the package into `<data>/tmp` and verifies that copy, writing out its library as it is hashed: what
    /// is checked is what is placed, whatever happens to the file the owner named.
    func stage(_ path: String) throws(NodeError) -> Staged {
        let tmp = layout.data + "/tmp"
        let n = Self.stagingCounter.add(1, ordering: .relaxed).newValue
        let packageFile = tmp + "/install-\(getpid())-\(n).synapp"
        let libraryFile = tmp + "/install-\(getpid())-\(n).so"
        let maxBytes = config.packages.maxPackageMB << 20
        do {
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw NodeError(.io, "cannot create \(tmp): \(error.localizedDescription)")
        }
        // Opened once (never blocking on a FIFO), checked as a regular file of bounded size, copied by content.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw NodeError(.package, "no package at \(path) (errno \(errno))") }
        var st = stat()
        let regular = fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
        close(fd)
        guard regular else { throw NodeError(.package, "\(path) is not a regular file") }
        guard Int(st.st_size) <= maxBytes else {
            throw NodeError(.package, "\(path) is \(st.st_size) bytes; this node takes packages up to \(maxBytes) bytes (node.toml [packages] max_package_mb)")
        }
        unlink(packageFile)
        // An upload is already in <data>/tmp, and is moved; anything else is copied.
        if !(path.hasPrefix(tmp + "/upload-") && rename(path, packageFile) == 0) {
            do throws(NodeError) { try AppSnapshot.copy(path, to: packageFile) } catch {
                throw NodeError(.io, "cannot stage \(path) in \(tmp): \(error.message)")
            }
        }
        unlink(libraryFile)
        do {
            let package = try PackageReader.verify(path: packageFile, maxBytes: maxBytes, libraryTo: libraryFile)
            return Staged(package: package, packageFile: packageFile, libraryFile: libraryFile)
        } catch {
            unlink(packageFile)
            throw NodeError(.package, error.message.replacingOccurrences(of: packageFile, with: path))
        }
    }

    /// The first install pins the developer key for the app id; later ones must be signed by it.
    private func checkDeveloper(_ package: VerifiedPackage, record: InstalledApp?, options: InstallOptions) throws(NodeError) {
        let id = package.manifest.id
        if record == nil && !options.newDeveloper {
            // No key is pinned, but the id is taken: a package would inherit that app's data, identity and grants.
            let running = state.withLock { $0.entries[id] != nil }
            let data = FileManager.default.fileExists(atPath: InstalledApp.directory(data: layout.data, app: id) + "/app.key")
            if running || data {
                throw NodeError(.developerKey, "'\(id)' is on this node already (\(running ? "from the manifests directory" : "its data in \(InstalledApp.directory(data: layout.data, app: id))")), with its data and identity, and no developer key is pinned for it; a package signed by \(package.developer) takes it over only if you say so: install it with --new-developer")
            }
        }
        guard let record, record.developer != package.developer else { return }
        guard options.newDeveloper else {
            throw NodeError(.developerKey, "'\(record.app)' is pinned to developer key \(record.developer) (since \(record.pinnedAt)), but this package is signed by \(package.developer); if the developer really changed keys, install it with --new-developer")
        }
    }

    /// An install must raise the version: going back is `apps rollback`.
    private func checkVersion(_ package: VerifiedPackage, record: InstalledApp?) throws(NodeError) {
        let id = package.manifest.id, new = package.manifest.version
        if let current = record?.current {
            let order = VersionOrder.compare(new, current.version)
            if order == 0 {
                throw NodeError(.version, "'\(id)' \(current.version) is already installed; raise [app] version in the manifest and pack it again")
            }
            if order < 0 {
                throw NodeError(.version, "'\(id)' \(current.version) is installed, and \(new) is older; to go back, use `syneroym apps rollback \(id)`")
            }
        } else if let running = state.withLock({ $0.entries[id]?.manifest.version }), VersionOrder.compare(new, running) < 0 {
            throw NodeError(.version, "'\(id)' \(running) runs from the manifests directory, and \(new) is older")
        }
    }

    /// Starts the library once in a sandbox under the app's profile, without storage or grants: `synapp_magic`
    /// must report the manifest's app id and this host's ABI major. Nothing else of the app runs (`WorkerSetup.probe`).
    func probe(_ package: VerifiedPackage, library: String) throws(NodeError) {
        let manifest = package.manifest
        let profileName = manifest.profile
        let profile: SandboxProfile
        do { profile = try SandboxProfile.load(path: layout.profiles + "/\(profileName).toml") } catch {
            throw NodeError(.appLoad, "'\(manifest.id)' asks for sandbox profile '\(profileName)': \(error)")
        }
        // A package chooses no profile that lets unlisted syscalls through (`debug`): its code runs in this probe
        // before the owner accepted anything. An owner may assign such a profile afterwards, in node.toml.
        guard profile.defaultAction == .kill else {
            throw NodeError(.package, "'\(manifest.id)' asks for sandbox profile '\(profileName)', which does not kill unlisted syscalls (default_action \(profile.defaultAction)); a package runs only under a profile that does. To debug an app, install it under its own profile and set node.toml [apps.\(manifest.id)] profile yourself")
        }
        var spec = WorkerSpec(manifest: manifest, profile: profile, library: library, workerExecutable: layout.worker)
        spec.setup.probe = true
        do {
            let worker = try WorkerProcess.start(spec, hostCalls: UnsupportedHostCalls())
            worker.shutdown()
        } catch {
            throw NodeError(.package, "the library of '\(manifest.id)' \(manifest.version) failed its sandboxed probe: \(error)")
        }
    }

    /// Moves the verified package and library into the app's directory: `packages/<version>-<digest>.synapp` and the
    /// pinned library `lib/<sha256>.so`. Returns the version's record entry.
    func place(_ staged: Staged, actor: String) throws(NodeError) -> InstalledApp.Version {
        let package = staged.package, id = package.manifest.id
        let directory = InstalledApp.directory(data: layout.data, app: id)
        let name = "\(Self.safe(package.manifest.version))-\(package.digest.prefix(16)).synapp"
        let library = directory + "/lib/\(package.library.sha256).so"
        do {
            for sub in ["", "/packages", "/lib"] {
                try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw NodeError(.io, "cannot create \(directory): \(error.localizedDescription)")
        }
        if !FileManager.default.fileExists(atPath: library) {
            guard rename(staged.libraryFile, library) == 0 else { throw NodeError(.io, "cannot place \(library): errno \(errno)") }
        }
        let target = directory + "/packages/" + name
        unlink(target)
        guard rename(staged.packageFile, target) == 0 else { throw NodeError(.io, "cannot place \(target): errno \(errno)") }
        chmod(target, 0o400)
        return InstalledApp.Version(version: package.manifest.version, package: name, digest: package.digest,
                                    library: package.library.sha256, installedAt: Self.timestamp(), by: actor, snapshot: nil)
    }

    /// A first install: node.toml gets the app's section (granting what the owner accepted), and the app starts.
    func installNew(_ package: VerifiedPackage, version: InstalledApp.Version, record: InstalledApp?,
                            options: InstallOptions, actor: String, tag: String) throws(NodeError) -> Installed {
        let manifest = package.manifest, id = manifest.id
        var section: String?
        if state.withLock({ $0.node.apps[id] == nil }) {
            // Nothing the owner did not accept: without --grant-requested an app that requests anything is installed
            // disabled, granting nothing, until the owner grants what they accept and enables it.
            let accepted = options.grantRequested || manifest.capabilities.lines.isEmpty
            let text = NodeConfig.section(for: manifest, granting: options.grantRequested ? manifest.capabilities : AppManifest.Capabilities(),
                                          enabled: accepted)
            let reloaded = try NodeTomlEditor.append(text, path: layout.nodeToml)
            state.withLock { $0.node.apps[id] = reloaded.apps[id] }
            section = text
        }
        var saved = record ?? InstalledApp(app: id, developer: package.developer, pinnedAt: Self.timestamp(), versions: [])
        saved.developer = package.developer
        saved.versions.append(version)
        try saved.save(data: layout.data)
        let node = config
        let entry = preparedEntry(manifest, config: node)
        state.withLock {
            $0.entries[id] = entry
            if !$0.order.contains(id) { $0.order.append(id) }
        }
        var problem = entry.problem
        if problem == nil && state.withLock({ $0.isEnabled(id) }) {
            problem = startApp(id) ?? waitHealthy(id, manifest: manifest)
        }
        state.withLock { $0.appsChanged }()
        broker.audit.append(actor: actor, app: id, action: "app.install", decision: problem == nil ? "ok" : "failed",
                            cause: (problem.map { "installed \(manifest.version) but it does not start: \($0)" }
                                    ?? "installed \(manifest.version) signed by \(package.developer)\(options.grantRequested ? ", granting what it requests" : ", granting nothing")")
                                + AuditLog.requestSuffix(tag))
        if let problem { throw NodeError(.appLoad, "'\(id)' \(manifest.version) is installed but does not start: \(problem)") }
        return installed(package, previous: nil, section: section)
    }

    /// An upgrade of an app the node has: stop it, snapshot its database, start the new version and wait for it to
    /// be healthy; on any failure put the old library and database back and start the old version again.
    private func upgrade(to package: VerifiedPackage, version: InstalledApp.Version, record: InstalledApp?,
                         options: InstallOptions, actor: String, tag: String) throws(NodeError) -> Installed {
        let manifest = package.manifest, id = manifest.id
        guard let old = state.withLock({ $0.entries[id] }) else { throw NodeError(.unknownApp, "no app '\(id)' on this node") }
        try refuseWhileMoving(id)
        if let to = state.withLock({ $0.moved[id] }) { throw NodeError(.version, "app '\(id)' has moved to node \(to); upgrade it there") }
        let previous = old.manifest.version
        // A disabled app is not started: its init and migrations run when it is enabled, with no automatic rollback.
        let runs = state.withLock { $0.isEnabled(id) }
        try checkRoom(for: id)
        stopForSwap(id)
        let snapshot: String
        do throws(NodeError) { snapshot = try AppSnapshot.take(data: layout.data, app: id, name: "before-\(Self.safe(manifest.version))-\(Self.compactTimestamp())") } catch {
            let restarted = swapIn(old.manifest, id: id)
            broker.audit.append(actor: actor, app: id, action: "app.upgrade", decision: "failed",
                                cause: "\(previous) to \(manifest.version): cannot snapshot the database (\(error.message)); \(previous) serves again\(restarted.map { " but does not start: \($0)" } ?? "")" + AuditLog.requestSuffix(tag))
            throw NodeError(.io, "the upgrade of '\(id)' to \(manifest.version) stopped before it began: cannot snapshot its database: \(error.message)")
        }
        if let problem = swapIn(manifest, id: id) {
            stopForSwap(id)
            do throws(NodeError) { try AppSnapshot.restore(data: layout.data, app: id, name: snapshot) } catch {
                // The old version must not start on a database the new one may have migrated: the app stays
                // stopped, and the snapshot stays where it is.
                state.withLock { $0.entries[id]?.problem = "its upgrade to \(manifest.version) failed and its database could not be put back: \(error.message); the database as it was is in \(AppSnapshot.root(data: layout.data, app: id))/\(snapshot)" }
                broker.audit.append(actor: actor, app: id, action: "app.upgrade", decision: "failed",
                                    cause: "\(previous) to \(manifest.version): \(problem); the database snapshot \(snapshot) could not be restored (\(error.message)); the app is stopped" + AuditLog.requestSuffix(tag))
                throw NodeError(.io, "the upgrade of '\(id)' from \(previous) to \(manifest.version) failed (\(problem)), and its database could not be put back: \(error.message). The app is stopped; the database as it was is in \(AppSnapshot.root(data: layout.data, app: id))/\(snapshot)")
            }
            let restored = "its database restored from snapshots/\(snapshot)"
            let again = swapIn(old.manifest, id: id)
            state.withLock { $0.appsChanged }()
            broker.audit.append(actor: actor, app: id, action: "app.upgrade", decision: "failed",
                                cause: "\(previous) to \(manifest.version): \(problem)" + AuditLog.requestSuffix(tag))
            broker.audit.append(actor: "node", app: id, action: "app.rollback", decision: again == nil ? "ok" : "failed",
                                cause: "back to \(previous) after the failed upgrade to \(manifest.version), \(restored)"
                                    + (again.map { "; but \(previous) does not start: \($0)" } ?? "") + AuditLog.requestSuffix(tag))
            AppSnapshot.remove(data: layout.data, app: id, name: snapshot)
            discard(version, app: id, keepingLibraryOf: record)
            throw NodeError(.appLoad, "the upgrade of '\(id)' from \(previous) to \(manifest.version) failed: \(problem); \(previous) serves again, \(restored)")
        }
        var saved = record ?? InstalledApp(app: id, developer: package.developer, pinnedAt: Self.timestamp(), versions: [])
        if saved.developer != package.developer {
            broker.audit.append(actor: actor, app: id, action: "app.developer", decision: "ok",
                                cause: "developer key of '\(id)' changed from \(saved.developer) to \(package.developer) (--new-developer)" + AuditLog.requestSuffix(tag))
            saved.developer = package.developer
            saved.pinnedAt = Self.timestamp()
        }
        var kept = version
        kept.snapshot = snapshot
        saved.versions.append(kept)
        prune(&saved)
        try saved.save(data: layout.data)
        state.withLock { $0.appsChanged }()
        broker.audit.append(actor: actor, app: id, action: "app.upgrade", decision: "ok",
                            cause: "\(previous) to \(manifest.version) signed by \(package.developer); database snapshot \(snapshot)"
                                + (runs ? "" : "; not started: the app is disabled, so its init and migrations run when it is enabled (`syneroym apps rollback \(id)` goes back)")
                                + AuditLog.requestSuffix(tag))
        return installed(package, previous: previous, section: nil)
    }

    /// Stops `id`'s workers and waits for them to end; its open streams end too.
    func stopForSwap(_ id: String) {
        streams.finishAll(app: id, .appStopped)
        guard let supervisor = state.withLock({ $0.entries[id]?.supervisor }) else { return }
        supervisor.stop()
        for _ in 0..<1000 where supervisor.hasLiveThreads { usleep(10_000) }
    }

    /// Makes `manifest` the app's version and starts it (when enabled): nil when it came up healthy, else why not.
    func swapIn(_ manifest: AppManifest, id: String) -> String? {
        let node = config
        let prepared = preparedEntry(manifest, config: node)
        let earlier: AppFootprint = state.withLock { s in
            guard let e = s.entries[id] else { return AppFootprint() }
            return e.supervisor.map { e.earlier.adding($0.footprint) } ?? e.earlier
        }
        state.withLock {
            $0.entries[id] = prepared
            $0.entries[id]?.earlier = earlier
        }
        if let problem = prepared.problem { return problem }
        guard state.withLock({ $0.isEnabled(id) }) else { return nil }
        return startApp(id) ?? waitHealthy(id, manifest: manifest)
    }

    /// Waits until `id` serves (its `init` and migrations ran) and, when the manifest names `[app] health`, that
    /// method answers 2xx; nil when healthy, else why not. Bounded by node.toml `[packages] upgrade_timeout_s`.
    func waitHealthy(_ id: String, manifest: AppManifest) -> String? {
        guard let supervisor = state.withLock({ $0.entries[id]?.supervisor }) else { return "app '\(id)' did not start" }
        let deadline = MonotonicClock.nowNs() + Int64(config.packages.upgradeTimeoutS) * 1_000_000_000
        while true {
            switch supervisor.state {
            case .running:
                guard let method = manifest.health else { return nil }
                return healthCall(supervisor, method: method, deadline: deadline)
            case .backoff, .failed, .stopped:
                let death = supervisor.recentDeaths.last.map { "\($0.outcome.rawValue): \($0.detail)" }
                return "its workers do not start (\(supervisor.failureReason ?? death ?? "stopped"))"
            case .starting:
                guard !state.withLock({ $0.stopped }) else { return "the node is stopping" }
                guard MonotonicClock.nowNs() < deadline else {
                    return "it did not start within \(config.packages.upgradeTimeoutS) s (node.toml [packages] upgrade_timeout_s)"
                }
                usleep(5_000)
            }
        }
    }

    private func healthCall(_ supervisor: AppSupervisor, method: String, deadline: Int64) -> String? {
        let waitNs = max(deadline - MonotonicClock.nowNs(), 1_000_000)
        guard let result = Self.waitForReply(timeoutNs: waitNs, { done in
            supervisor.submit(method: method, caller: [], body: Array("{}".utf8), tag: "health", deadlineNs: deadline, complete: done)
        }) else {
            return "its health method '\(method)' did not answer in time"
        }
        switch result {
        case .success(let reply) where reply.status == 0 && (200..<300).contains(reply.httpStatus): return nil
        case .success(let reply):
            return "its health method '\(method)' answered status \(reply.status) HTTP \(reply.httpStatus): \(String(decoding: reply.body.prefix(300), as: UTF8.self))"
        case .failure(let error): return "its health method '\(method)' failed: \(error)"
        }
    }

    /// Submits work to an app's supervisor with `submit` and waits, on this thread, for its reply: nil when none
    /// came within `timeoutNs` (nil: no limit beyond the supervisor's own).
    static func waitForReply(timeoutNs: Int64? = nil,
                             _ submit: (@escaping @Sendable (Result<CallReply, CallError>) -> Void) -> Void) -> Result<CallReply, CallError>? {
        let answer = Mutex<Result<CallReply, CallError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        submit { result in
            answer.withLock { $0 = result }
            done.signal()
        }
        if let timeoutNs {
            guard done.wait(timeout: .now() + .nanoseconds(Int(timeoutNs))) == .success else { return nil }
        } else {
            done.wait()
        }
        return answer.withLock { $0 }
    }

    /// Refuses an upgrade whose snapshot would take the disk below the reserve.
    private func checkRoom(for id: String) throws(NodeError) {
        let need = AppSnapshot.size(data: layout.data, app: id)
        var fs = statvfs()
        guard statvfs(layout.data, &fs) == 0 else { return }
        let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
        let reserve = Int64(config.reserveMB) << 20
        guard free - need >= reserve else {
            throw NodeError(.io, "the upgrade of '\(id)' needs \(need >> 20) MB for its database snapshot, and \(layout.data) has \(free >> 20) MB free with \(reserve >> 20) MB reserved (node.toml node.reserve_mb); free some space first")
        }
    }

    /// Forgets a version that never took: its package, and its library unless a kept version uses it.
    private func discard(_ version: InstalledApp.Version, app: String, keepingLibraryOf record: InstalledApp?) {
        let directory = InstalledApp.directory(data: layout.data, app: app)
        unlink(directory + "/packages/" + version.package)
        let inUse = record?.versions.contains { $0.library == version.library } ?? false
        let running = state.withLock { $0.entries[app]?.manifest.sha256 } == version.library
        if !inUse && !running { unlink(directory + "/lib/\(version.library).so") }
    }

    /// Keeps at most `[packages] keep_versions` versions: older ones lose their package, library and snapshot.
    func prune(_ record: inout InstalledApp) {
        let keep = config.packages.keepVersions
        guard record.versions.count > keep else { return }
        let gone = record.versions.prefix(record.versions.count - keep)
        record.versions.removeFirst(gone.count)
        let directory = InstalledApp.directory(data: layout.data, app: record.app)
        for version in gone {
            unlink(directory + "/packages/" + version.package)
            if !record.versions.contains(where: { $0.library == version.library }) { unlink(directory + "/lib/\(version.library).so") }
            if let snapshot = version.snapshot { AppSnapshot.remove(data: layout.data, app: record.app, name: snapshot) }
        }
        // The oldest kept version cannot be rolled back past: its snapshot is of a version no longer kept.
        if let first = record.versions.first?.snapshot {
            AppSnapshot.remove(data: layout.data, app: record.app, name: first)
            record.versions[0].snapshot = nil
        }
    }

    private func installed(_ package: VerifiedPackage, previous: String?, section: String?) -> Installed {
        let id = package.manifest.id
        let granted = config.apps[id]?.grants ?? AppManifest.Capabilities()
        return Installed(app: id, version: package.manifest.version, previous: previous, developer: package.developer,
                         state: app(id)?.state ?? "unknown", requested: package.manifest.capabilities.lines,
                         notGranted: package.manifest.capabilities.notGranted(by: granted), section: section,
                         provenance: package.header.provenance, sbom: package.header.sbom.needed)
    }

    static let stagingCounter = Atomic<Int>(0)

    /// A version string made safe as part of a file name.
    static func safe(_ version: String) -> String {
        String(version.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }.prefix(64))
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }

    /// `20261203T141124.123Z`: to the millisecond, so two in one second do not collide.
    static func compactTimestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date()).filter { $0 != "-" && $0 != ":" }
    }
}
