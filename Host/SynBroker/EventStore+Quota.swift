import Synchronization
import SynSQLite
import SynSandbox

/// Per-app quotas on what an app keeps in `node.db`: its events and its pending timers, in bytes.
///
/// At an app's event quota, its oldest events that every subscriber has received go first (they were delivered;
/// retention would have removed them later). If its undelivered events alone fill the quota, `event_emit`
/// answers SYN_E_QUOTA and rows already in the app's outbox wait there. Timers are never removed early.
extension EventStore {
    /// Bytes an app's rows take, as its quotas count them.
    public struct Usage: Sendable, Equatable {
        public var events: Int64 = 0
        public var timers: Int64 = 0
        /// How many timers are pending (counted here so that `timer_set` never counts rows).
        public var timerCount = 0
        /// `net_send` messages waiting for their peers' acknowledgements.
        public var net: Int64 = 0
        public init() {}
    }

    /// An app's limits, with the node.toml keys that set them (for the messages).
    public struct Quota: Sendable, Equatable {
        public var eventBytes: Int64
        public var timerBytes: Int64
        public var eventsKey: String
        public var timersKey: String
        public var netBytes: Int64
        public var netKey: String
        public init(eventBytes: Int64, timerBytes: Int64, eventsKey: String, timersKey: String,
                    netBytes: Int64 = .max, netKey: String = "") {
            self.eventBytes = eventBytes
            self.timerBytes = timerBytes
            self.eventsKey = eventsKey
            self.timersKey = timersKey
            self.netBytes = netBytes
            self.netKey = netKey
        }
    }

    /// An event's size: its payload, type and caller, and a fixed share for its row.
    static func eventBytes(caller: String, type: String, payload: Int) -> Int64 {
        Int64(payload + type.utf8.count + caller.utf8.count + 64)
    }

    /// A timer's size: its payload and a fixed share for its row.
    static func timerBytes(payload: Int) -> Int64 { Int64(payload + 48) }

    /// Every app's usage, measured from the tables.
    static func measureUsage(_ db: Database) throws(SQLiteError) -> [String: Usage] {
        var usage: [String: Usage] = [:]
        for row in try db.query("""
            SELECT app, sum(length(payload) + length(CAST(type AS BLOB)) + length(CAST(caller AS BLOB)) + 64)
            FROM events GROUP BY app
            """) {
            if case .text(let app) = row[0], case .integer(let bytes) = row[1] { usage[app, default: Usage()].events = bytes }
        }
        for row in try db.query("SELECT app, sum(length(payload) + \(netRowBytes)) FROM net_outbox GROUP BY app") {
            if case .text(let app) = row[0], case .integer(let bytes) = row[1] { usage[app, default: Usage()].net = bytes }
        }
        for row in try db.query("SELECT app, sum(length(payload) + 48), count(*) FROM timers GROUP BY app") {
            if case .text(let app) = row[0], case .integer(let bytes) = row[1], case .integer(let count) = row[2] {
                usage[app, default: Usage()].timers = bytes
                usage[app, default: Usage()].timerCount = Int(count)
            }
        }
        return usage
    }

    /// Sets `app`'s quotas (the broker does, from node.toml, when it registers the app).
    public func setQuota(_ quota: Quota, for app: String) { state.withLock { st in st.quotas[app] = quota } }

    /// Notes an app that subscribes to events.
    public func noteSubscriber(_ app: String) { state.withLock { st in _ = st.subscriberIDs.insert(app) } }

    /// What `app` keeps now.
    public func usage(of app: String) -> Usage { state.withLock { st in st.usage[app] ?? Usage() } }

    /// Whether `bytes` more of `app`'s events fit (making room from its delivered ones); why not, if they do not.
    func admitEvent(_ app: String, bytes: Int64) -> String? {
        state.withLock { st in
            // The usual case needs no transaction: the events fit.
            guard let quota = st.quotas[app], (st.usage[app]?.events ?? 0) + bytes > quota.eventBytes else { return nil }
            do throws(SQLiteError) {
                try st.db.beginImmediate()
                let why = try st.roomForEvent(app, bytes: bytes)
                try st.db.commit()
                return why
            } catch {
                try? st.db.rollback()
                if let measured = try? Self.measureUsage(st.db) { st.usage = measured }
                return "the node could not make room in its event log: \(error.message)"
            }
        }
    }

    /// Whether `bytes` more of `app`'s messages to peers fit; why not, if they do not.
    func admitNet(_ app: String, bytes: Int64) -> String? { state.withLock { st in st.roomForNet(app, bytes: bytes) } }

    /// Whether `bytes` more of `app`'s timers fit; why not, if they do not.
    func admitTimer(_ app: String, bytes: Int64) -> String? { state.withLock { st in st.roomForTimer(app, bytes: bytes) } }

    static func mib(_ bytes: Int64) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
    }
}

extension EventStore.State {
    /// Inside a transaction: makes room for `bytes` of `app`'s events by deleting its oldest delivered ones if it
    /// must; nil when they fit, else why not.
    mutating func roomForEvent(_ app: String, bytes: Int64) throws(SQLiteError) -> String? {
        guard let quota = quotas[app] else { return nil }
        let used = usage[app]?.events ?? 0
        guard used + bytes > quota.eventBytes else { return nil }
        let need = used + bytes - quota.eventBytes
        // Delivered: at or below every subscriber's cursor (a subscriber with no cursor has received nothing).
        var horizon = Int64.max
        for subscriber in subscriberIDs {
            let row = try db.cachedQuery("SELECT coalesce((SELECT last_event FROM event_cursors WHERE subscriber = ?), 0)", [.text(subscriber)])
            if case .integer(let last)? = row.first?.first { horizon = min(horizon, last) }
        }
        var freed: Int64 = 0, through: Int64 = 0
        let rows = try db.cachedQuery("""
            SELECT id, length(payload) + length(CAST(type AS BLOB)) + length(CAST(caller AS BLOB)) + 64 FROM events
            WHERE app = ? AND id <= ? ORDER BY id LIMIT 10000
            """, [.text(app), .integer(horizon)])
        for row in rows where freed < need {
            guard case .integer(let id) = row[0], case .integer(let size) = row[1] else { continue }
            freed += size
            through = id
        }
        if freed >= need {
            _ = try db.cachedExecute("DELETE FROM events WHERE app = ? AND id <= ?", [.text(app), .integer(through)])
            usage[app, default: EventStore.Usage()].events -= freed
            return nil
        }
        return "app '\(app)' keeps \(EventStore.mib(used)) of undelivered events in the node's log, its quota "
            + "(node.toml \(quota.eventsKey) = \(quota.eventBytes >> 20)); new ones wait until its subscribers catch up"
    }

    /// Whether `bytes` of `app`'s messages to peers fit; why not, if they do not.
    func roomForNet(_ app: String, bytes: Int64) -> String? {
        guard let quota = quotas[app] else { return nil }
        let used = usage[app]?.net ?? 0
        guard used + bytes > quota.netBytes else { return nil }
        return "app '\(app)' keeps \(EventStore.mib(used)) of messages its peers have not acknowledged, its quota (node.toml "
            + "\(quota.netKey) = \(quota.netBytes >> 20)); new ones wait until the peers catch up"
    }

    /// Whether `bytes` of `app`'s timers fit; why not, if they do not.
    func roomForTimer(_ app: String, bytes: Int64) -> String? {
        guard let quota = quotas[app] else { return nil }
        let used = usage[app]?.timers ?? 0
        guard used + bytes > quota.timerBytes else { return nil }
        return "app '\(app)''s pending timers take \(EventStore.mib(used)), its quota (node.toml \(quota.timersKey) = "
            + "\(quota.timerBytes >> 20)); cancel or let some fire first"
    }
}
