import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the node installed of one app from signed packages: the developer key pinned at the first install and the
/// versions kept, oldest first (the last is the one that runs). Stored as `apps/<id>/installed.json`, replaced
/// atomically.
struct InstalledApp: Codable, Sendable, Equatable {
    /// One installed version.
    struct Version: Codable, Sendable, Equatable {
        var version: String
        /// The package's file name under `apps/<id>/packages/`.
        var package: String
        /// SHA-256 of the package file.
        var digest: String
        /// SHA-256 of its library (the pinned copy `apps/<id>/lib/<sha256>.so`).
        var library: String
        /// When it was installed (ISO 8601, UTC) and by whom (an owner's key id, or `node`).
        var installedAt: String
        var by: String
        /// The database snapshot taken just before this version replaced the one before it (a directory under
        /// `apps/<id>/snapshots/`), which `apps rollback` restores; nil for a first install.
        var snapshot: String?
    }

    var app: String
    /// The developer key (base64url) every version must be signed by.
    var developer: String
    var pinnedAt: String
    var versions: [Version]

    var current: Version? { versions.last }

    /// `<data>/apps/<id>`.
    static func directory(data: String, app: String) -> String { data + "/apps/" + app }

    static func path(data: String, app: String) -> String { directory(data: data, app: app) + "/installed.json" }

    /// The record of `app`, or nil when it was never installed from a package.
    static func load(data: String, app: String) throws(NodeError) -> InstalledApp? {
        let path = path(data: data, app: app)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(InstalledApp.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw NodeError(.storage, "cannot read \(path): \(error); restore it from a backup, or move it away to forget the installed versions")
        }
    }

    /// Every app id with a record, sorted.
    static func all(data: String) -> [String] {
        let apps = (try? FileManager.default.contentsOfDirectory(atPath: data + "/apps")) ?? []
        return apps.filter { FileManager.default.fileExists(atPath: path(data: data, app: $0)) }.sorted()
    }

    /// Writes the record: a temporary file, fsync, rename, so a crash leaves the old record or the new one.
    func save(data: String) throws(NodeError) {
        let path = Self.path(data: data, app: app)
        let temporary = path + ".tmp"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let bytes = try encoder.encode(self)
            try bytes.write(to: URL(fileURLWithPath: temporary))
            let fd = open(temporary, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { fsync(fd); close(fd) }
            guard rename(temporary, path) == 0 else { throw NodeError(.io, "cannot replace \(path): errno \(errno)") }
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError(.io, "cannot write \(path): \(error.localizedDescription)")
        }
    }
}
