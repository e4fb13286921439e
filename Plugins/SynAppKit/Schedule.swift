import FoundationEssentials
import PluginABI

/// Work due at a time, kept in the app's own database (`syn_due`) and woken by one node timer for the whole app,
/// however much is due: the node bounds each app's pending timers (10,000), so an app that schedules per order, per
/// quote or per workflow instance schedules here. An item is keyed by `kind` and `key` (scheduling the same pair
/// again moves it); at its time it goes to the handler `Routes.onDue(kind)` registered, in a transaction of its
/// own with the others due then, at least once.
public struct Schedule: Sendable {
    let context: Context

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS syn_due (kind TEXT NOT NULL, key TEXT NOT NULL, due_ms INTEGER NOT NULL, payload BLOB NOT NULL,
            PRIMARY KEY (kind, key)) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS syn_due_by_time ON syn_due(due_ms)",
        // When the app's one wake-up timer is set for (a timer set earlier stays pending and fires harmlessly).
        "CREATE TABLE IF NOT EXISTS syn_due_timer (id INTEGER PRIMARY KEY CHECK (id = 1), armed_ms INTEGER NOT NULL)",
    ]

    /// Items a wake-up hands to their handlers at most (the rest wake the app again at once): few enough that what
    /// they emit, send and set stays within one call's outbox allowance.
    static let batch = 64
    /// How long an item whose handler failed (not a 4xx) waits before it is tried again; the others do not wait.
    static let retryMs: Int64 = 60_000

    /// Schedules `payload` (JSON) for `kind`'s handler at `dueMs`, replacing what `kind` and `key` had.
    public func at<T: Encodable>(_ dueMs: Int64, _ kind: String, key: String, _ payload: T) throws {
        let json = Array(try JSONKeys.current.encoder.encode(payload))
        try context.sql.exec("""
            INSERT INTO syn_due(kind, key, due_ms, payload) VALUES (?, ?, ?, ?)
            ON CONFLICT(kind, key) DO UPDATE SET due_ms = excluded.due_ms, payload = excluded.payload
            """, [.text(kind), .text(key), .integer(dueMs), .blob(json)])
        try arm(by: dueMs)
    }

    /// Forgets what `kind` and `key` had scheduled.
    public func cancel(_ kind: String, key: String) throws {
        try context.sql.exec("DELETE FROM syn_due WHERE kind = ? AND key = ?", [.text(kind), .text(key)])
    }

    /// Forgets everything of `kind` whose key starts with `prefix`.
    func cancel(_ kind: String, keyPrefix prefix: String) throws {
        // A range on the primary key: every key that starts with `prefix` sorts between it and it followed by U+10FFFF.
        try context.sql.exec("DELETE FROM syn_due WHERE kind = ? AND key >= ? AND key < ?",
                             [.text(kind), .text(prefix), .text(prefix + "\u{10FFFF}")])
    }

    /// Makes sure a wake-up comes by `dueMs`: a timer is set only when none is set for that time or earlier.
    func arm(by dueMs: Int64) throws {
        let now = context.nowMs
        if let armed = try context.sql.first("SELECT armed_ms FROM syn_due_timer WHERE id = 1")?.int(0).map(Int64.init),
           armed > now, armed <= dueMs {
            return
        }
        let delay = UInt64(min(max(dueMs - now, 0), Int64(Events.maxTimerDelayMs)))
        let armed = now + Int64(delay)
        try context.events.setTimer(afterMs: delay, DueWakeUp(synappkitDue: 1, armedMs: armed))
        try context.sql.exec("INSERT INTO syn_due_timer(id, armed_ms) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET armed_ms = excluded.armed_ms",
                             [.integer(armed)])
    }

    /// The wake-up `fired`: hands what is due to its handlers, each in a savepoint (a 4xx drops its item; any other
    /// failure puts it back for `retryMs` later; neither holds up the others), then sets the next wake-up. A
    /// wake-up that is not the one the app armed last (an earlier one, superseded) leaves that one armed.
    func wake(_ fired: DueWakeUp, _ handlers: [String: Routes.DueHandler]) throws {
        let now = context.nowMs
        let armed = try context.sql.first("SELECT armed_ms FROM syn_due_timer WHERE id = 1")?.int(0).map(Int64.init)
        if fired.armedMs == nil || fired.armedMs == armed || (armed ?? 0) <= now {
            try context.sql.exec("DELETE FROM syn_due_timer WHERE id = 1")
        }
        let due = try context.sql.query("SELECT kind, key, payload FROM syn_due WHERE due_ms <= ? ORDER BY due_ms LIMIT ?",
                                        [.integer(now), .integer(Int64(Self.batch))])
        for row in due {
            let kind = row.text(0) ?? "", key = row.text(1) ?? ""
            try context.sql.exec("DELETE FROM syn_due WHERE kind = ? AND key = ?", [.text(kind), .text(key)])
            guard let handler = handlers[kind] else {
                context.log(.warn, "nothing handles due work of kind \(kind) (key \(key)); dropped")
                continue
            }
            try context.sql.exec("SAVEPOINT synappkit_due")
            do {
                try handler(row.blob(2) ?? [], key, context)
            } catch let refusal as AppError where refusal.status < 500 {
                try context.sql.exec("ROLLBACK TO synappkit_due")
                context.log(.warn, "due \(kind) \(key) dropped: \(refusal)")
            } catch {
                try context.sql.exec("ROLLBACK TO synappkit_due")
                try context.sql.exec("INSERT OR REPLACE INTO syn_due(kind, key, due_ms, payload) VALUES (?, ?, ?, ?)",
                                     [.text(kind), .text(key), .integer(now + Self.retryMs), .blob(row.blob(2) ?? [])])
                context.log(.error, "due \(kind) \(key) failed, tried again in \(Self.retryMs / 1000) s: \(error)")
            }
            try context.sql.exec("RELEASE synappkit_due")
        }
        if due.count == Self.batch { return try arm(by: now) }
        if let next = try context.sql.first("SELECT min(due_ms) FROM syn_due")?.int(0) { try arm(by: Int64(next)) }
    }
}

extension Context {
    /// Work due later, in the app's own database, woken by one node timer.
    public var schedule: Schedule { Schedule(context: self) }
}

/// The payload of the app's one wake-up timer, with the time it was armed for (absent before this was kept).
struct DueWakeUp: Codable, Sendable {
    let synappkitDue: Int
    var armedMs: Int64?
}
