import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The node's memory of its backups, `<data>/backup.json`: the last success and the last failure. Read by
/// `doctor`, `/v1/health` and `/metrics` to show a missed backup, and by the schedule.
public struct BackupRecord: Codable, Sendable, Equatable {
    /// Unix seconds of the last successful backup, and its archive.
    public var lastOK: Int64?
    public var lastFile: String?
    /// Unix seconds of the last attempt, and its error when it failed.
    public var lastAttempt: Int64?
    public var lastError: String?

    public init() {}

    static func path(data: String) -> String { data + "/backup.json" }

    /// The record in `data`, or an empty one.
    public static func load(data: String) -> BackupRecord {
        guard let bytes = FileManager.default.contents(atPath: path(data: data)),
              let record = try? JSONDecoder().decode(BackupRecord.self, from: bytes) else { return BackupRecord() }
        return record
    }

    func save(data: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let bytes = try? encoder.encode(self) else { return }
        let temporary = Self.path(data: data) + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: bytes) else { return }
        rename(temporary, Self.path(data: data))
    }

    /// Why the backups are late, or nil: with backups scheduled (`every_hours`), none succeeded within
    /// `alertHours` (counting from the last success, or, when there was none, from a failed first attempt).
    public func overdue(everyHours: Int, alertHours: Int, now: Int64) -> String? {
        guard everyHours > 0 else { return nil }
        let limit = Int64(alertHours) * 3600
        if let lastOK {
            guard now - lastOK > limit else { return nil }
            return "no successful backup for \((now - lastOK) / 3600) h (node.toml [backup] alert_hours = \(alertHours))" + (lastError.map { "; the last attempt failed: \($0)" } ?? "")
        }
        guard let lastError else { return nil }
        return "no backup has succeeded yet; the last attempt failed: \(lastError)"
    }
}
