import Foundation
import Logging
import SynConfig
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An app coming back to a node it moved away from (`apps import` of its bundle, or `apps migrate` from the node it
/// moved to): what it left here is stale, so it is set aside in `<data>/left/<id>-<time>` (never deleted: the
/// owner removes it) and the app arrives as a new one would, except that its node.toml section, with the grants
/// the owner gave it here, stays, and it is enabled again if it was when it left.
extension NodeRuntime {
    /// What a return set aside, so it can be put back if the import fails.
    struct LeftBehind {
        let app: String
        let path: String
        let entry: AppEntry?
        let movedTo: String
        let wasEnabled: Bool
    }

    /// Sets aside what `app` left here when it moved to another node, after checking that the package it comes back
    /// with is signed by the developer key pinned for it here (unless `newDeveloper`). Nil when the app is not one
    /// that moved away. Called inside `exclusively`.
    func setAsideReturning(_ app: String, developer: String, newDeveloper: Bool) throws(NodeError) -> LeftBehind? {
        guard let movedTo = state.withLock({ $0.moved[app] }) else { return nil }
        let directory = InstalledApp.directory(data: layout.data, app: app)
        let pinned = try InstalledApp.load(data: layout.data, app: app)?.developer
        if pinned != developer, !newDeveloper {
            throw NodeError(.version, "'\(app)' comes back signed by developer key \(developer), but this node "
                                + (pinned.map { "pinned \($0) for it before it left" } ?? "has no record of the key it was installed with")
                                + "; give --new-developer if the developer changed keys")
        }
        // Enabled again only if it is known to have served here (a marker older than the `enabled` key says nothing).
        let marker = Self.readMarker(directory + "/moved.json")
        let wasEnabled = marker?["enabled"] as? Bool ?? false
        let left = layout.data + "/left"
        let target = left + "/\(app)-\(Self.compactTimestamp())"
        guard mkdir(left, 0o700) == 0 || errno == EEXIST else { throw NodeError(.io, "cannot create \(left): errno \(errno)") }
        guard rename(directory, target) == 0 else {
            throw NodeError(.io, "cannot set aside what '\(app)' left here (\(directory) to \(target)): errno \(errno)")
        }
        let entry = state.withLock { st -> AppEntry? in
            let entry = st.entries[app]
            st.entries[app] = nil
            st.moved[app] = nil
            return entry
        }
        logger.info("an app that moved away comes back; what it left here is set aside", metadata: ["app": "\(app)", "left": "\(target)"])
        return LeftBehind(app: app, path: target, entry: entry, movedTo: movedTo, wasEnabled: wasEnabled)
    }

    /// Puts back what `left` set aside (its import failed): the app is again the one that moved away.
    func undoReturn(_ left: LeftBehind) {
        let directory = InstalledApp.directory(data: layout.data, app: left.app)
        try? FileManager.default.removeItem(atPath: directory)
        guard rename(left.path, directory) == 0 else {
            logger.error("cannot put back what an app left here", metadata: ["app": "\(left.app)", "left": "\(left.path)", "errno": "\(errno)"])
            return
        }
        state.withLock { st in
            st.entries[left.app] = left.entry
            st.moved[left.app] = left.movedTo
        }
    }

    /// The app is enabled again if it was when it left (its section in node.toml stayed, disabled by the move), or
    /// disabled again (`enabled` false) when its arrival fails.
    func reenableReturned(_ left: LeftBehind, enabled: Bool = true) throws(NodeError) {
        guard left.wasEnabled else { return }
        _ = try NodeTomlEditor.setEnabled(enabled, app: left.app, path: layout.nodeToml)
        state.withLock { $0.node.apps[left.app, default: NodeConfig.App()].enabled = enabled }
    }
}
