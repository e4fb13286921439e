import ArgumentParser
import Foundation
import Logging
import SynRuntime

/// A node opened on its data directory without serving anything, for owner actions on a stopped node (`apps
/// install`, `apps rollback`): it holds the directory's lock, does the one thing, and stops every app it started.
enum OfflineNode {
    /// The audit actor of an action taken on the data directory itself.
    static var actor: String { "local (uid \(getuid()))" }

    static func with<T>(_ data: String, manifests: String, profiles: String,
                        _ body: (NodeRuntime) throws(NodeError) -> T) throws -> T {
        guard FileManager.default.fileExists(atPath: data + "/node.toml") else {
            FileHandle.standardError.write(Data("error: \(data) has no node.toml; create the node with `syneroym init --data \(data)` first\n".utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "syneroym")
        logger.logLevel = .warning
        let layout = NodeLayout(data: data, manifests: manifests, profiles: profiles,
                                libraryDirectories: [NodePaths.products], worker: NodePaths.worker)
        let runtime: NodeRuntime
        do { runtime = try NodeRuntime(layout: layout, logger: logger) } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(error.code == .dataDirectoryInUse ? 2 : 1)
        }
        defer { runtime.shutdown(reason: "owner action on a stopped node done", drainSeconds: 0) }
        do { return try body(runtime) } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(error.code == .config ? 2 : 1)
        }
    }
}
