import Foundation
import SynBroker
import SynConfig
import SynPackage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `apps rollback`, and loading installed apps from their packages when the node starts.
extension NodeRuntime {
    /// What a rollback did.
    public struct RolledBack: Sendable {
        public let app: String
        public let from: String
        public let to: String
        /// The snapshot (under `apps/<id>/snapshots/`) holding the database as the rolled-back version left it.
        public let keptAside: String
    }

    /// Goes back one installed version by hand: the previous package, and the database as it was just before the
    /// current version was installed. The database as the current version left it is kept aside as a snapshot
    /// (named in the answer and the audit entry), so nothing written since is lost. If the previous version does not
    /// come up, the current one and its database are put back.
    public func rollback(app id: String, actor: String, tag: String = "") throws(NodeError) -> RolledBack {
        try exclusively { () throws(NodeError) -> RolledBack in
            guard state.withLock({ $0.entries[id] != nil }) else { throw NodeError(.unknownApp, "no app '\(id)' on this node") }
            try refuseWhileMoving(id)
            guard var record = try InstalledApp.load(data: layout.data, app: id), record.versions.count >= 2,
                  let current = record.current, let snapshot = current.snapshot else {
                throw NodeError(.version, "'\(id)' has no earlier installed version to roll back to (`syneroym apps versions \(id)` lists what is kept)")
            }
            let previous = record.versions[record.versions.count - 2]
            let manifest = try Self.installedManifest(data: layout.data, app: id, version: previous)
            let currentManifest = state.withLock { $0.entries[id]?.manifest }
            stopForSwap(id)
            let aside = Self.rolledBackPrefix + "\(Self.safe(current.version))-\(Self.compactTimestamp())"
            do throws(NodeError) {
                _ = try AppSnapshot.take(data: layout.data, app: id, name: aside)
                try AppSnapshot.restore(data: layout.data, app: id, name: snapshot)
            } catch {
                // The copy set aside is kept: it is the database as the current version left it.
                let again = currentManifest.flatMap { swapIn($0, id: id) }
                throw NodeError(.io, "the rollback of '\(id)' failed: \(error.message); the database \(current.version) left is kept in snapshots/\(aside)\(again.map { "; and \(current.version) does not start again: \($0)" } ?? "")")
            }
            if let problem = swapIn(manifest, id: id) {
                stopForSwap(id)
                var restored = ""
                do throws(NodeError) { try AppSnapshot.restore(data: layout.data, app: id, name: aside) } catch { restored = "; its database could not be put back (\(error.message)): it is in snapshots/\(aside)" }
                let again = currentManifest.flatMap { swapIn($0, id: id) }
                state.withLock { $0.appsChanged }()
                broker.audit.append(actor: actor, app: id, action: "app.rollback", decision: "failed",
                                    cause: "\(current.version) to \(previous.version): \(problem); \(current.version) serves again\(restored)" + AuditLog.requestSuffix(tag))
                throw NodeError(.appLoad, "the rollback of '\(id)' to \(previous.version) failed: \(problem); \(current.version) serves again\(restored)\(again.map { ", but does not start: \($0)" } ?? "")")
            }
            record.versions.removeLast()
            let directory = InstalledApp.directory(data: layout.data, app: id)
            unlink(directory + "/packages/" + current.package)
            if !record.versions.contains(where: { $0.library == current.library }) { unlink(directory + "/lib/\(current.library).so") }
            AppSnapshot.remove(data: layout.data, app: id, name: snapshot)
            // Databases set aside by rollbacks are kept as versions are: `[packages] keep_versions` of them.
            AppSnapshot.prune(data: layout.data, app: id, prefix: Self.rolledBackPrefix, keep: config.packages.keepVersions)
            try record.save(data: layout.data)
            state.withLock { $0.appsChanged }()
            broker.audit.append(actor: actor, app: id, action: "app.rollback", decision: "ok",
                                cause: "\(current.version) to \(previous.version) by the owner, with the database as it was before \(current.version) was installed; the database \(current.version) left is kept in snapshots/\(aside)" + AuditLog.requestSuffix(tag))
            return RolledBack(app: id, from: current.version, to: previous.version, keptAside: aside)
        }
    }

    /// The start of the names of databases set aside by rollbacks (`snapshots/rolled-back-from-<version>-<time>`).
    static let rolledBackPrefix = "rolled-back-from-"

    /// The versions of `app` kept from packages, oldest first (the last runs), or nil when none was installed.
    public func installedVersions(app id: String) throws(NodeError) -> (developer: String, versions: [(version: String, installedAt: String, by: String, package: String)])? {
        guard let record = try InstalledApp.load(data: layout.data, app: id) else { return nil }
        return (record.developer, record.versions.map { ($0.version, $0.installedAt, $0.by, $0.package) })
    }

    /// The manifest of an installed version, from its package verified again (signature and every hash), with its
    /// library placed as `lib/<sha256>.so` when that copy is missing.
    static func installedManifest(data: String, app: String, version: InstalledApp.Version) throws(NodeError) -> AppManifest {
        let directory = InstalledApp.directory(data: data, app: app)
        let path = directory + "/packages/" + version.package
        let library = directory + "/lib/\(version.library).so"
        let missing = !FileManager.default.fileExists(atPath: library)
        let staging = library + ".tmp-\(getpid())"
        if missing {
            // A restored node has its packages but not the libraries taken out of them.
            mkdir(directory + "/lib", 0o700)
            unlink(staging)
        }
        let package: VerifiedPackage
        do { package = try PackageReader.verify(path: path, libraryTo: missing ? staging : nil) } catch {
            throw NodeError(.package, "the installed package of '\(app)' \(version.version) does not verify: \(error.message); install it again")
        }
        guard package.digest == version.digest, package.manifest.id == app, package.library.sha256 == version.library else {
            unlink(staging)
            throw NodeError(.package, "\(path) is not the package installed for '\(app)' \(version.version) (its digest changed); install it again")
        }
        if missing && rename(staging, library) != 0 {
            unlink(staging)
            throw NodeError(.io, "cannot place \(library): errno \(errno)")
        }
        return package.manifest
    }

    /// The apps installed from packages, each with the manifest of the version that runs, or why it cannot run.
    static func installedApps(data: String) -> [(id: String, manifest: AppManifest?, problem: String?)] {
        InstalledApp.all(data: data).map { id in
            do throws(NodeError) {
                guard let record = try InstalledApp.load(data: data, app: id), let current = record.current else {
                    return (id, nil, "\(InstalledApp.path(data: data, app: id)) lists no version; install the app again")
                }
                return (id, try installedManifest(data: data, app: id, version: current), nil)
            } catch {
                return (id, nil, error.message)
            }
        }
    }
}
