public import SynAppKit

/// A Space's managers, in the `space_managers` table every Space app keeps: the creator is the first, only managers
/// change a Space, and a Space keeps at least one.
public enum SpaceManagers {
    /// The table, for an app's first migration.
    public static let schema = """
        CREATE TABLE space_managers (
            space_id TEXT NOT NULL REFERENCES spaces(id), manager TEXT NOT NULL, added_by TEXT NOT NULL,
            added_ms INTEGER NOT NULL, PRIMARY KEY (space_id, manager)
        ) WITHOUT ROWID;
        CREATE INDEX space_managers_by_key ON space_managers(manager);
        """

    /// Space `spaceID`'s managers, oldest first.
    public static func list(_ spaceID: String, _ context: Context) throws -> [String] {
        try context.sql.query("SELECT manager FROM space_managers WHERE space_id = ? ORDER BY added_ms, manager", [.text(spaceID)])
            .compactMap { $0.text(0) }
    }

    /// Whether `key` manages Space `spaceID`.
    public static func isManager(_ key: CallerKey, of spaceID: String, _ context: Context) throws -> Bool {
        try context.sql.first("SELECT 1 FROM space_managers WHERE space_id = ? AND manager = ?", [.text(spaceID), .text(key.id)]) != nil
    }

    /// 403 unless `caller` is among `managers` of Space `spaceID`.
    public static func require(_ caller: CallerKey, among managers: [String], of spaceID: String) throws(AppError) {
        guard managers.contains(caller.id) else { throw AppError.forbidden("only a manager of Space \(spaceID) may change it") }
    }

    /// Records `manager` as the first manager of a new Space.
    public static func first(_ spaceID: String, _ manager: CallerKey, _ context: Context) throws {
        try context.sql.exec("INSERT INTO space_managers(space_id, manager, added_by, added_ms) VALUES (?, ?, ?, ?)",
                             [.text(spaceID), .text(manager.id), .text(manager.id), .integer(context.nowMs)])
    }

    /// `caller`, a manager, adds `manager` (a key id or 64 hex characters).
    public static func add(_ manager: String, to spaceID: String, by caller: CallerKey, _ context: Context) throws {
        let managers = try list(spaceID, context)
        try require(caller, among: managers, of: spaceID)
        guard let key = CallerKey(manager) else { throw AppError.badRequest("manager must be a key id (base64url) or 64 hex characters", code: "invalid_field") }
        guard !managers.contains(key.id) else { throw AppError.conflict("\(key.id) already manages this Space", code: "already_manager") }
        try context.sql.exec("INSERT INTO space_managers(space_id, manager, added_by, added_ms) VALUES (?, ?, ?, ?)",
                             [.text(spaceID), .text(key.id), .text(caller.id), .integer(context.nowMs)])
    }

    /// `caller`, a manager, removes `manager`; the last one stays.
    public static func remove(_ manager: String, from spaceID: String, by caller: CallerKey, _ context: Context) throws {
        let managers = try list(spaceID, context)
        try require(caller, among: managers, of: spaceID)
        guard let key = CallerKey(manager), managers.contains(key.id) else { throw AppError.notFound("\(manager) does not manage this Space") }
        guard managers.count > 1 else { throw AppError.conflict("a Space keeps at least one manager", code: "last_manager") }
        try context.sql.exec("DELETE FROM space_managers WHERE space_id = ? AND manager = ?", [.text(spaceID), .text(key.id)])
    }
}

/// `{"space_id": …, "manager": …}`: what `spaces.managers.add` and `.remove` take.
public struct ManagerChange: Codable, Sendable {
    public var spaceId: String
    public var manager: String
}

/// `{"id": …}`: a Space named by its id.
public struct SpaceRef: Codable, Sendable {
    public var id: String
    public init(id: String) { self.id = id }
}
