import SynSQLite
import SynSandbox
import SynSystem
import Synchronization
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// The node's durable event log, per-subscriber delivery cursors and pending timers, in `node.db`.
public final class EventStore: Sendable {
    /// One stored domain event.
    public struct Event: Sendable, Equatable {
        public let id: Int64
        public let app: String
        public let caller: String
        public let type: String
        public let payload: [UInt8]
    }

    /// One pending timer.
    public struct Timer: Sendable, Equatable {
        public let token: Int64
        public let app: String
        public let dueNs: Int64
        public let payload: [UInt8]
    }

    let state: Mutex<State>

    /// The database and what is counted of it, behind the store's lock.
    struct State {
        let db: Database
        /// Bytes each app's events and pending timers take in `node.db`, as its quotas count them.
        var usage: [String: Usage] = [:]
        /// Each app's quotas; an app without one has none (tests, tools).
        var quotas: [String: Quota] = [:]
        /// Apps that subscribe to events: an event is delivered once each of their cursors is past it.
        var subscriberIDs: Set<String> = []
        /// Where messages for an app that moved go instead ("peer\napp" → node), from `net_redirects`.
        var redirects: [String: String] = [:]
    }

    public init(path: String) throws(BrokerError) {
        do {
            let db = try Database(path: path)
            try db.execute("""
                CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, app TEXT NOT NULL,
                    caller TEXT NOT NULL, type TEXT NOT NULL, payload BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS event_cursors (subscriber TEXT PRIMARY KEY, last_event INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS timers (token INTEGER PRIMARY KEY, app TEXT NOT NULL, due_ns INTEGER NOT NULL,
                    payload BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS timers_due ON timers(app, due_ns);
                CREATE TABLE IF NOT EXISTS outbox_cursors (app TEXT PRIMARY KEY, epoch BLOB NOT NULL,
                    last_seq INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS events_app ON events(app, id);
                """ + Self.netSchema)
            var initial = State(db: db, usage: try Self.measureUsage(db))
            initial.redirects = try Self.loadRedirects(db)
            state = Mutex(initial)
        } catch { throw BrokerError(.storage, "event log \(path): \(error)") }
    }

    /// Applies the retention policy: deletes events older than `cutoffNs` (wall time), then the oldest past
    /// `maxEvents`. Returns how many went, and how many of those some subscriber in `subscribers` had not received.
    public func prune(olderThanNs cutoffNs: Int64, maxEvents: Int, subscribers: [String]) -> (deleted: Int, undelivered: Int) {
        state.withLock { st in
            do throws(SQLiteError) {
                try st.db.beginImmediate()
                // The oldest event some subscriber still waits for: everything from there on is undelivered.
                var horizon = Int64.max
                for s in subscribers {
                    let row = try st.db.cachedQuery("SELECT coalesce((SELECT last_event FROM event_cursors WHERE subscriber = ?), 0)", [.text(s)])
                    if case .integer(let last)? = row.first?.first { horizon = min(horizon, last) }
                }
                var bound: Int64 = 0
                if case .integer(let id)? = try st.db.cachedQuery("SELECT coalesce(max(id), 0) FROM events WHERE time_ns < ?", [.integer(cutoffNs)]).first?.first {
                    bound = id
                }
                if case .integer(let id)? = try st.db.cachedQuery("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?", [.integer(Int64(maxEvents))]).first?.first {
                    bound = max(bound, id)
                }
                var undelivered = 0
                if bound > horizon, case .integer(let n)? = try st.db.cachedQuery("SELECT count(*) FROM events WHERE id > ? AND id <= ?", [.integer(horizon), .integer(bound)]).first?.first {
                    undelivered = Int(n)
                }
                let deleted = try st.db.cachedExecute("DELETE FROM events WHERE id <= ?", [.integer(bound)])
                try st.db.commit()
                if deleted > 0, let measured = try? Self.measureUsage(st.db) { st.usage = measured }
                return (deleted, undelivered)
            } catch {
                try? st.db.rollback()
                return (0, 0)
            }
        }
    }

    /// Closes the event log; later calls find it closed.
    public func close() { state.withLock { st in st.db.close() } }

    /// What the broker makes of one row of an app's outbox.
    enum OutboxDecision {
        case event(caller: String, type: String, payload: [UInt8])
        case timer(token: Int64, dueNs: Int64, payload: [UInt8])
        case net(peer: String, caller: String, payload: [UInt8])
        case refuse(String)
    }

    /// What `applyOutbox` stored.
    struct Applied {
        /// The app's outbox cursor afterwards.
        var through: Int64 = 0
        var events = 0
        var timers = 0
        /// Peers with new messages.
        var peers: Set<String> = []
        /// Why rows were refused.
        var refused: [String] = []
        /// Why the batch stopped early (a quota), if it did.
        var full: String?
    }

    /// Stores the rows of an app's outbox past the app's cursor (rows at or below it were stored before: a
    /// re-send), each as `decide` says, and moves the cursor forward, in one transaction. A new `epoch` (a new or
    /// restored database) starts the count again. A row the app's quota has no room for stops the batch there:
    /// it and the rows after it stay in the app's outbox, to be sent again.
    func applyOutbox(app: String, epoch: [UInt8], rows: [OutboxRow],
                     decide: (OutboxRow, _ pendingTimers: Int) -> OutboxDecision) throws(SQLiteError) -> Applied
    {
        let result: Result<Applied, SQLiteError> = state.withLock { st in
            let before = st.usage[app]
            do throws(SQLiteError) {
                try st.db.beginImmediate()
                var last: Int64 = 0
                if let row = try st.db.cachedQuery("SELECT epoch, last_seq FROM outbox_cursors WHERE app = ?", [.text(app)]).first,
                   case .blob(let stored) = row[0], case .integer(let seq) = row[1], stored == epoch {
                    last = seq
                }
                var pending = st.usage[app]?.timerCount ?? 0
                let now = WallClock.nowNs()
                var applied = Applied()
                rowLoop: for row in rows where row.seq > last {
                    switch decide(row, pending) {
                    case .event(let caller, let type, let payload):
                        let bytes = Self.eventBytes(caller: caller, type: type, payload: payload.count)
                        if let why = try st.roomForEvent(app, bytes: bytes) {
                            applied.full = why
                            break rowLoop
                        }
                        _ = try st.db.cachedExecute("INSERT INTO events(time_ns, app, caller, type, payload) VALUES (?, ?, ?, ?, ?)",
                                                 [.integer(now), .text(app), .text(caller), .text(type), .blob(payload)])
                        st.usage[app, default: Usage()].events += bytes
                        applied.events += 1
                    case .timer(let token, let due, let payload):
                        let bytes = Self.timerBytes(payload: payload.count)
                        if let why = st.roomForTimer(app, bytes: bytes) {
                            applied.full = why
                            break rowLoop
                        }
                        let added = try st.db.cachedExecute("INSERT OR IGNORE INTO timers(token, app, due_ns, payload) VALUES (?, ?, ?, ?)",
                                                         [.integer(token), .text(app), .integer(due), .blob(payload)])
                        if added > 0 {
                            pending += 1
                            applied.timers += 1
                            st.usage[app, default: Usage()].timers += bytes
                            st.usage[app, default: Usage()].timerCount += 1
                        } else { applied.refused.append("timer token \(token) is taken") }
                    case .net(let peer, let caller, let payload):
                        let bytes = Int64(payload.count + Self.netRowBytes)
                        if let why = st.roomForNet(app, bytes: bytes) {
                            applied.full = why
                            break rowLoop
                        }
                        let target = try st.enqueueNet(peer: peer, app: app, caller: caller, payload: payload, nowNs: now)
                        st.usage[app, default: Usage()].net += bytes
                        applied.peers.insert(target)
                    case .refuse(let why):
                        applied.refused.append(why)
                    }
                    last = row.seq
                }
                _ = try st.db.cachedExecute("""
                    INSERT INTO outbox_cursors(app, epoch, last_seq) VALUES (?, ?, ?)
                    ON CONFLICT(app) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq
                    """, [.text(app), .blob(epoch), .integer(last)])
                try st.db.commit()
                applied.through = last
                return .success(applied)
            } catch {
                try? st.db.rollback()
                st.usage[app] = before
                if let measured = try? Self.measureUsage(st.db) { st.usage = measured }
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The app's outbox cursor: the epoch of the rows last stored, and the last sequence number.
    public func outboxCursor(app: String) -> (epoch: [UInt8], seq: Int64)? {
        state.withLock { st in
            guard let row = try? st.db.cachedQuery("SELECT epoch, last_seq FROM outbox_cursors WHERE app = ?", [.text(app)]).first,
                  case .blob(let epoch) = row[0], case .integer(let seq) = row[1] else { return nil }
            return (epoch, seq)
        }
    }

    /// Events after `subscriber`'s cursor, oldest first.
    public func pending(for subscriber: String, limit: Int = 100) -> [Event] {
        state.withLock { st in
            let rows = (try? st.db.cachedQuery("""
                SELECT id, app, caller, type, payload FROM events
                WHERE id > coalesce((SELECT last_event FROM event_cursors WHERE subscriber = ?), 0) ORDER BY id LIMIT ?
                """, [.text(subscriber), .integer(Int64(limit))])) ?? []
            return rows.compactMap { r in
                guard case .integer(let id) = r[0], case .text(let app) = r[1], case .text(let caller) = r[2],
                      case .text(let type) = r[3], case .blob(let payload) = r[4] else { return nil }
                return Event(id: id, app: app, caller: caller, type: type, payload: payload)
            }
        }
    }

    /// Marks everything up to `id` delivered to `subscriber`.
    public func advance(_ subscriber: String, to id: Int64) {
        state.withLock { st in
            _ = try? st.db.cachedExecute("""
                INSERT INTO event_cursors(subscriber, last_event) VALUES (?, ?)
                ON CONFLICT(subscriber) DO UPDATE SET last_event = max(last_event, excluded.last_event)
                """, [.text(subscriber), .integer(id)])
        }
    }

    /// The app's timers due at `nowNs`, and when its next one is due.
    public func timers(for app: String, dueBy nowNs: Int64) -> (due: [Timer], next: Int64?) {
        state.withLock { st in
            let rows = (try? st.db.cachedQuery("SELECT token, due_ns, payload FROM timers WHERE app = ? ORDER BY due_ns LIMIT 100",
                                      [.text(app)])) ?? []
            var due: [Timer] = []
            var next: Int64?
            for r in rows {
                guard case .integer(let token) = r[0], case .integer(let at) = r[1], case .blob(let payload) = r[2] else { continue }
                if at <= nowNs { due.append(Timer(token: token, app: app, dueNs: at, payload: payload)) }
                else { next = min(next ?? at, at) }
            }
            return (due, next)
        }
    }

    /// How many timers `app` has pending.
    public func pendingTimerCount(for app: String) -> Int { state.withLock { $0.usage[app]?.timerCount ?? 0 } }

    func deleteTimer(_ token: Int64) {
        state.withLock { st in
            guard let row = try? st.db.cachedQuery("DELETE FROM timers WHERE token = ? RETURNING app, length(payload)", [.integer(token)]).first,
                  case .text(let app) = row[0], case .integer(let payload) = row[1] else { return }
            st.usage[app, default: Usage()].timers -= Self.timerBytes(payload: Int(payload))
            st.usage[app, default: Usage()].timerCount -= 1
        }
    }
}
