import SynSQLite
import Synchronization

/// What `node.db` holds for one app besides its events, travelling with it to another node (`apps export`,
/// `apps migrate`): its outbox cursor (so rows of its outbox stored here are not stored again there), its pending
/// timers (SynAppKit keeps "a wake-up is armed" in the app's own database), and its `net_send` messages not yet
/// acknowledged by their peers.
extension EventStore {
    /// One app's share of `node.db`, as it moves.
    public struct AppRows: Sendable, Equatable {
        public struct Timer: Sendable, Equatable {
            public var token: Int64
            public var dueNs: Int64
            public var payload: [UInt8]
            public init(token: Int64, dueNs: Int64, payload: [UInt8]) { self.token = token; self.dueNs = dueNs; self.payload = payload }
        }
        public struct Message: Sendable, Equatable {
            public var peer: String
            public var timeNs: Int64
            public var caller: String
            public var payload: [UInt8]
            public init(peer: String, timeNs: Int64, caller: String, payload: [UInt8]) {
                self.peer = peer; self.timeNs = timeNs; self.caller = caller; self.payload = payload
            }
        }
        public var outbox: (epoch: [UInt8], seq: Int64)?
        public var timers: [Timer] = []
        /// In the order they were sent, per peer.
        public var messages: [Message] = []
        public init() {}

        public static func == (a: AppRows, b: AppRows) -> Bool {
            a.outbox?.epoch == b.outbox?.epoch && a.outbox?.seq == b.outbox?.seq && a.timers == b.timers && a.messages == b.messages
        }
    }

    /// `app`'s rows, read in one transaction.
    public func rows(of app: String) throws(BrokerError) -> AppRows {
        let result: Result<AppRows, SQLiteError> = state.withLock { st in
            do throws(SQLiteError) {
                try st.db.beginImmediate()
                defer { try? st.db.rollback() }
                var out = AppRows()
                if let row = try st.db.cachedQuery("SELECT epoch, last_seq FROM outbox_cursors WHERE app = ?", [.text(app)]).first,
                   case .blob(let epoch) = row[0], case .integer(let seq) = row[1] {
                    out.outbox = (epoch, seq)
                }
                for r in try st.db.cachedQuery("SELECT token, due_ns, payload FROM timers WHERE app = ? ORDER BY due_ns", [.text(app)]) {
                    guard case .integer(let token) = r[0], case .integer(let due) = r[1], case .blob(let payload) = r[2] else { continue }
                    out.timers.append(.init(token: token, dueNs: due, payload: payload))
                }
                for r in try st.db.cachedQuery("SELECT peer, time_ns, caller, payload FROM net_outbox WHERE app = ? ORDER BY peer, seq", [.text(app)]) {
                    guard case .text(let peer) = r[0], case .integer(let time) = r[1], case .text(let caller) = r[2],
                          case .blob(let payload) = r[3] else { continue }
                    out.messages.append(.init(peer: peer, timeNs: time, caller: caller, payload: payload))
                }
                return .success(out)
            } catch { return .failure(error) }
        }
        do { return try result.get() } catch { throw BrokerError(.storage, "node.db: \(error)") }
    }

    /// Takes in the rows `app` brought from another node, in one transaction: its outbox cursor, its timers (a
    /// token another app holds here is given a new one, and counted in `renumbered`), and its messages, queued
    /// after any this node has for the same peers. Quotas are not checked: the rows were within them there.
    public func adopt(_ rows: AppRows, app: String) throws(BrokerError) -> (timers: Int, messages: Int, renumbered: Int) {
        let result: Result<(Int, Int, Int), SQLiteError> = state.withLock { st in
            let before = st.usage
            do throws(SQLiteError) {
                try st.db.beginImmediate()
                if let outbox = rows.outbox {
                    _ = try st.db.cachedExecute("""
                        INSERT INTO outbox_cursors(app, epoch, last_seq) VALUES (?, ?, ?)
                        ON CONFLICT(app) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq
                        """, [.text(app), .blob(outbox.epoch), .integer(outbox.seq)])
                }
                var renumbered = 0
                for t in rows.timers {
                    var token = t.token
                    while try st.db.cachedExecute("INSERT OR IGNORE INTO timers(token, app, due_ns, payload) VALUES (?, ?, ?, ?)",
                                                  [.integer(token), .text(app), .integer(t.dueNs), .blob(t.payload)]) == 0 {
                        token = Int64.random(in: 1...Int64.max)
                        renumbered += 1
                    }
                    st.usage[app, default: Usage()].timers += Self.timerBytes(payload: t.payload.count)
                    st.usage[app, default: Usage()].timerCount += 1
                }
                for m in rows.messages {
                    try st.enqueueNet(peer: m.peer, app: app, caller: m.caller, payload: m.payload, nowNs: m.timeNs)
                    st.usage[app, default: Usage()].net += Int64(m.payload.count + Self.netRowBytes)
                }
                try st.db.commit()
                return .success((rows.timers.count, rows.messages.count, renumbered))
            } catch {
                try? st.db.rollback()
                st.usage = before
                return .failure(error)
            }
        }
        do { return try result.get() } catch { throw BrokerError(.storage, "node.db: \(error)") }
    }

    /// Deletes `app`'s timers and unacknowledged messages (it moved away; the node it went to has them now).
    /// Returns how many rows went.
    @discardableResult
    public func forget(app: String) -> Int {
        state.withLock { st in
            let timers = (try? st.db.cachedExecute("DELETE FROM timers WHERE app = ?", [.text(app)])) ?? 0
            let messages = (try? st.db.cachedExecute("DELETE FROM net_outbox WHERE app = ?", [.text(app)])) ?? 0
            st.usage[app] = nil
            return timers + messages
        }
    }

    /// `app` moved from node `from` to node `to`: the messages waiting for it on `from` wait for `to` instead, with
    /// their sequence numbers (the app's database went with it and remembers which it applied), and those sent from
    /// now on go there too (`net_redirects`). Nothing moves when this node already has a stream for `app` on `to`.
    /// Returns how many messages now wait for `to`.
    public func retarget(app: String, from: String, to: String) -> Int {
        state.withLock { st in
            do throws(SQLiteError) {
                try st.db.beginImmediate()
                var moved = 0
                if try st.db.cachedQuery("SELECT 1 FROM net_sequences WHERE peer = ? AND app = ?", [.text(to), .text(app)]).isEmpty {
                    moved = try st.db.cachedExecute("UPDATE net_outbox SET peer = ? WHERE peer = ? AND app = ?", [.text(to), .text(from), .text(app)])
                    _ = try st.db.cachedExecute("UPDATE net_sequences SET peer = ? WHERE peer = ? AND app = ?", [.text(to), .text(from), .text(app)])
                }
                var redirects = st.redirects
                // Earlier moves of the app that ended on `from` now end on `to`; one back to a node it left is no move.
                for (key, target) in redirects where target == from && key.hasSuffix("\n" + app) { redirects[key] = to }
                redirects[from + "\n" + app] = to
                redirects[to + "\n" + app] = nil
                guard redirects.count <= Self.maxRedirects else {
                    try st.db.rollback()
                    return 0
                }
                _ = try st.db.cachedExecute("DELETE FROM net_redirects WHERE app = ?", [.text(app)])
                for (key, target) in redirects where key.hasSuffix("\n" + app) {
                    _ = try st.db.cachedExecute("INSERT INTO net_redirects(peer, app, moved_to) VALUES (?, ?, ?)",
                                                [.text(String(key.dropLast(app.utf8.count + 1))), .text(app), .text(target)])
                }
                try st.db.commit()
                st.redirects = redirects
                return moved
            } catch {
                try? st.db.rollback()
                return 0
            }
        }
    }

    /// Where messages for `app` on `peer` go, if it moved.
    public func redirect(app: String, peer: String) -> String? { state.withLock { $0.redirects[peer + "\n" + app] } }
}
