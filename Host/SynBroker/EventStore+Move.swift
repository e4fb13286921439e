import SynSQLite
import Synchronization

/// What `node.db` holds for one app besides its events, travelling with it to another node (`apps export`,
/// `apps migrate`): its outbox cursor (so rows of its outbox stored here are not stored again there) and its pending
/// timers (SynAppKit keeps "a wake-up is armed" in the app's own database). Its `net_send` messages not yet
/// acknowledged stay on the node that committed them and are delivered from there: sent again from the new node
/// they would be a new stream, which the peers could not tell from new messages.
extension EventStore {
    /// One app's share of `node.db`, as it moves.
    public struct AppRows: Sendable, Equatable {
        public struct Timer: Sendable, Equatable {
            public var token: Int64
            public var dueNs: Int64
            public var payload: [UInt8]
            public init(token: Int64, dueNs: Int64, payload: [UInt8]) { self.token = token; self.dueNs = dueNs; self.payload = payload }
        }
        public var outbox: (epoch: [UInt8], seq: Int64)?
        public var timers: [Timer] = []
        public init() {}

        public static func == (a: AppRows, b: AppRows) -> Bool {
            a.outbox?.epoch == b.outbox?.epoch && a.outbox?.seq == b.outbox?.seq && a.timers == b.timers
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
                return .success(out)
            } catch { return .failure(error) }
        }
        do { return try result.get() } catch { throw BrokerError(.storage, "node.db: \(error)") }
    }

    /// Takes in the rows `app` brought from another node, in one transaction: its outbox cursor, and its timers
    /// within `timerBytes` (its timers quota here; the rest are refused with the transaction). A token another app
    /// holds here is given a new one, counted in `renumbered`.
    public func adopt(_ rows: AppRows, app: String, timerBytes: Int64) throws(BrokerError) -> (timers: Int, renumbered: Int) {
        let total = rows.timers.reduce(Int64(0)) { $0 + Self.timerBytes(payload: $1.payload.count) }
        guard total <= timerBytes else {
            throw BrokerError(.storage, "its \(rows.timers.count) timers take \(EventStore.mib(total)), past its timers quota here (\(EventStore.mib(timerBytes)))")
        }
        let result: Result<(Int, Int), SQLiteError> = state.withLock { st in
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
                try st.db.commit()
                return .success((rows.timers.count, renumbered))
            } catch {
                try? st.db.rollback()
                st.usage = before
                return .failure(error)
            }
        }
        do { return try result.get() } catch { throw BrokerError(.storage, "node.db: \(error)") }
    }

    /// Deletes `app`'s timers (it moved away, and the node it went to has them now). Its messages for peers stay
    /// until they are acknowledged. Returns how many went.
    @discardableResult
    public func forgetTimers(app: String) -> Int {
        state.withLock { st in
            let timers = (try? st.db.cachedExecute("DELETE FROM timers WHERE app = ?", [.text(app)])) ?? 0
            st.usage[app, default: Usage()].timers = 0
            st.usage[app, default: Usage()].timerCount = 0
            return timers
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
                // Earlier moves of the app that ended on `from` now end on `to`; an entry that would send a node's
                // messages to itself (the app moved back) is dropped.
                for (key, target) in redirects where target == from && key.hasSuffix("\n" + app) { redirects[key] = to }
                redirects[from + "\n" + app] = to
                for (key, target) in redirects where key.hasSuffix("\n" + app) && key == target + "\n" + app { redirects[key] = nil }
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

    /// Whether this node has sent, or has waiting, messages of `app` for `peer` (a stream a peer may redirect).
    public func hasStream(peer: String, app: String) -> Bool {
        state.withLock { st in
            !((try? st.db.cachedQuery("SELECT 1 FROM net_sequences WHERE peer = ? AND app = ?", [.text(peer), .text(app)])) ?? []).isEmpty
        }
    }

    /// Where messages for `app` on `peer` go, if it moved.
    public func redirect(app: String, peer: String) -> String? { state.withLock { $0.redirects[peer + "\n" + app] } }
}
