import Foundation
import SynConfig
import SynBroker
import SynSandbox
import Logging
import Synchronization

extension NodeRuntime {
    /// What `apps add` did: the app's status and the node.toml section it wrote (its grants).
    public struct AddedApp: Sendable {
        public let status: AppStatus
        public let section: String
    }

    /// Adds the app whose manifest is at `manifestPath` (a file on this machine, named by an owner) to the running
    /// node: copies the manifest, and the library found beside it, into the manifests directory; appends its
    /// node.toml section granting what it requests; registers and starts it. Audited as `app.add`.
    ///
    /// Refused, changing nothing, for an app id the node already has, a manifest or library that does not load, or
    /// a node.toml that would not parse.
    public func addApp(manifestPath: String, actor: String, tag: String = "") throws(NodeError) -> AddedApp {
        try exclusively { () throws(NodeError) -> AddedApp in try addFromManifest(manifestPath, actor: actor, tag: tag) }
    }

    private func addFromManifest(_ manifestPath: String, actor: String, tag: String) throws(NodeError) -> AddedApp {
        var manifest: AppManifest
        do { manifest = try AppManifest.load(path: manifestPath) } catch { throw NodeError(.config, "\(error)") }
        let id = manifest.id
        let (known, sectioned) = state.withLock { ($0.entries[id] != nil, $0.node.apps[id] != nil) }
        if known {
            throw NodeError(.config, "app '\(id)' is already on this node; `syneroym apps restart \(id)` re-reads its node.toml section")
        }
        if sectioned {
            throw NodeError(.config, "node.toml already has an [apps.\(id)] section; put the manifest in \(layout.manifests) and restart the node")
        }
        let library: String
        do { library = try manifest.resolveLibrary(searchDirectories: layout.libraryDirectories) } catch {
            throw NodeError(.appLoad, "\(error)")
        }
        try place(manifest: manifestPath, library: library, as: &manifest)
        let section = NodeConfig.section(granting: manifest)
        let reloaded = try NodeTomlEditor.append(section, path: layout.nodeToml)
        let fresh: NodeConfig = state.withLock {
            $0.node.apps[id] = reloaded.apps[id]
            return $0.node
        }
        let added = preparedEntry(manifest, config: fresh)
        state.withLock {
            $0.entries[id] = added
            if !$0.order.contains(id) { $0.order.append(id) }
        }
        let problem = added.problem ?? startApp(id)
        state.withLock { $0.appsChanged }()
        broker.audit.append(actor: actor, app: id, action: "app.add", decision: problem == nil ? "ok" : "failed",
                            cause: (problem ?? "added from \(manifestPath) with the grants it requests") + AuditLog.requestSuffix(tag))
        if let problem { throw NodeError(.appLoad, "app '\(id)' was added to node.toml but does not start: \(problem)") }
        let status = app(id) ?? AppStatus(id: id, name: manifest.name, version: manifest.version, state: "unknown",
                                          profile: manifest.profile, publicMethods: manifest.publicMethods, problem: nil)
        return AddedApp(status: status, section: section)
    }

    /// Copies the manifest into the manifests directory as `<id>.toml`, and the library with it when it lives
    /// beside the manifest, so the node finds both at its next start. `manifest.path` then names the copy.
    private func place(manifest path: String, library: String, as manifest: inout AppManifest) throws(NodeError) {
        let fm = FileManager.default
        let source = URL(fileURLWithPath: path).standardizedFileURL
        let directory = URL(fileURLWithPath: layout.manifests).standardizedFileURL
        let target = directory.appendingPathComponent("\(manifest.id).toml")
        guard source.deletingLastPathComponent().path != directory.path else { return }
        guard !fm.fileExists(atPath: target.path) else {
            throw NodeError(.config, "\(target.path) exists already; remove it or add that manifest instead")
        }
        do {
            try fm.copyItem(at: source, to: target)
            let beside = source.deletingLastPathComponent().appendingPathComponent(manifest.library).standardizedFileURL
            if URL(fileURLWithPath: library).standardizedFileURL.path == beside.path {
                let libraryTarget = directory.appendingPathComponent(manifest.library)
                try fm.createDirectory(at: libraryTarget.deletingLastPathComponent(), withIntermediateDirectories: true)
                if !fm.fileExists(atPath: libraryTarget.path) { try fm.copyItem(at: beside, to: libraryTarget) }
            }
        } catch {
            throw NodeError(.io, "cannot copy the app into \(directory.path): \(error.localizedDescription); "
                            + "copy its manifest and library there yourself and restart the node")
        }
        manifest.path = target.path
    }
}
