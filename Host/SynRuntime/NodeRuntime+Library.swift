import Foundation
import Logging
import SynBroker
import SynConfig
import SynSandbox
import SynWire
import SynSodium
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where an app's profile and library come from, and the pinned copy of a library whose manifest names its hash.
extension NodeRuntime {
    /// A fresh entry for `manifest`: registered with the broker under `config` (node.toml as loaded, or as read
    /// again by `apps restart` and `apps add`), its profile and library resolved, or the problem that stops it.
    /// Reads files, so it is called without the lock.
    func preparedEntry(_ manifest: AppManifest, config: NodeConfig) -> AppEntry {
        var entry = AppEntry(manifest: manifest)
        do { try broker.register(manifest, reloaded: config) } catch { entry.problem = error.message }
        if entry.problem == nil { resolve(&entry, config: config) }
        return entry
    }

    /// Sets `entry`'s profile (the node owner's choice, else the manifest's) and worker spec, or its problem.
    func resolve(_ entry: inout AppEntry, config: NodeConfig) {
        let manifest = entry.manifest
        let name = config.apps[manifest.id]?.profile ?? manifest.profile
        let path = (layout.profiles as NSString).appendingPathComponent("\(name).toml")
        do {
            let profile = try SandboxProfile.load(path: path)
            let library: String
            if let sha256 = manifest.sha256, let pinned = pinnedCopy(sha256: sha256, app: manifest.id) {
                // Already verified and pinned: whatever has happened to the file the manifest names since.
                library = pinned
            } else {
                let found = try manifest.resolveLibrary(searchDirectories: layout.libraryDirectories)
                library = try manifest.sha256.map { sha256 throws(NodeError) in try pin(found, sha256: sha256, app: manifest.id) } ?? found
            }
            entry.profile = profile
            var spec = WorkerSpec(manifest: manifest, profile: profile, library: library, workerExecutable: layout.worker)
            // Client notices queue in the worker until the call commits only where the grant covers them.
            spec.setup.clientNotices = Policy(manifest: manifest, node: config)
                .denial(.messagesPublish(topic: ClientNotices.prefix + String(repeating: "0", count: 64))) == nil
            entry.spec = spec
        } catch {
            entry.problem = "\(error)"
        }
    }

    /// The pinned copy of `app`'s library with `sha256`, if there is one and it still has that digest.
    private func pinnedCopy(sha256: String, app: String) -> String? {
        let pinned = layout.data + "/apps/\(app)/lib/\(sha256).so"
        guard FileManager.default.fileExists(atPath: pinned),
              (try? FileDigest.sha256Hex(path: pinned)) == sha256 else { return nil }
        return pinned
    }

    /// A library whose manifest names its sha256 is copied into the data directory (0400, named by its hash) and
    /// verified there, and workers start from that copy: replacing the file the manifest points at cannot change
    /// what a later restart loads.
    private func pin(_ library: String, sha256: String, app: String) throws(NodeError) -> String {
        let directory = layout.data + "/apps/\(app)/lib"
        let pinned = directory + "/\(sha256).so"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            if !FileManager.default.fileExists(atPath: pinned) {
                let temporary = pinned + ".tmp-\(getpid())"
                try? FileManager.default.removeItem(atPath: temporary)
                try FileManager.default.copyItem(atPath: library, toPath: temporary)
                chmod(temporary, 0o400)
                guard rename(temporary, pinned) == 0 else { throw NodeError(.io, "cannot place \(pinned): errno \(errno)") }
            }
        } catch let error as NodeError { throw error } catch {
            throw NodeError(.io, "cannot pin \(library) for '\(app)': \(error.localizedDescription)")
        }
        let actual: String
        do { actual = try FileDigest.sha256Hex(path: pinned) } catch { throw NodeError(.io, error.message) }
        guard actual == sha256 else {
            unlink(pinned)
            throw NodeError(.appLoad, "the pinned copy of \(library) has sha256 \(actual), not the manifest's app.sha256 \(sha256)")
        }
        return pinned
    }
}
