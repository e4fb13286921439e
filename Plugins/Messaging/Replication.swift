import FoundationEssentials
import SynAppKit

/// Conversations across nodes. Each member has a home node. An envelope is posted on its author's home node, which
/// sends it (`net_send`: exactly once, in order, surviving restarts and partitions) to the home nodes of the other
/// members; each of those verifies it again and applies it. Envelopes are applied in the order they arrive, and
/// the readers show an author's envelope only while the author was a member at its place in the log, so once the
/// same envelopes have arrived every node shows the same conversation in the same order.
enum Replication {
    /// Envelopes one peer may have waiting for what they build on; past it, the peer's next such envelope is
    /// refused (and dropped), so no peer fills the app's database with envelopes for conversations that never come.
    static let maxPendingPerPeer = 1_000

    /// Sends a local author's envelope to every other home node of the conversation's members (a removed member's
    /// too, for the removal itself; after it, nothing more).
    static func send(_ e: Envelope, from here: String, _ context: Context) throws {
        let homes = try context.sql.query("""
            SELECT DISTINCT home FROM members WHERE conversation_id = ? AND (left_ord IS NULL OR left_ord = ?)
            """, [.text(e.conversationId), .text(e.position)]).compactMap { $0.text(0) }
        // A member added on a node that holds no other member of the conversation: that node is first handed the
        // conversation's membership so far (what is said from then on reaches it like any other home).
        var joining: String?
        if e.kind == "member_add", let body = try? JSONDecoder().decode(MemberBody.self, from: Data(e.body.utf8)) {
            let home = body.home ?? here
            let others = try context.sql.first("""
                SELECT count(*) FROM members WHERE conversation_id = ? AND home = ? AND member <> ? AND left_ord IS NULL
                """, [.text(e.conversationId), .text(home), .text(body.member)])?.int(0) ?? 0
            if home != here && others == 0 { joining = home }
        }
        for home in homes where !home.isEmpty && home != here {
            do {
                if home == joining { try bootstrap(e.conversationId, to: home, before: e, context) }
                try context.net.send(to: home, PeerMessage(envelope: e))
                try Attachments.send(for: e, to: home, context)
            } catch let error as HostError where error.appError.status == 404 {
                throw AppError.conflict("a member's home node \(home) is not a peer of this node: its owner adds it with `syneroym peers add`", code: "home_not_peer")
            }
        }
    }

    /// Hands node `home` the conversation's create and membership envelopes before `e`, with every member's home,
    /// in messages of at most ~48 KiB (a peer message is at most 64 KiB).
    static func bootstrap(_ conversation: String, to home: String, before e: Envelope, _ context: Context) throws {
        let homes = Dictionary(try context.sql.query("SELECT member, home FROM members WHERE conversation_id = ?", [.text(conversation)])
            .map { ($0.text(0) ?? "", $0.text(1) ?? "") }, uniquingKeysWith: { a, _ in a })
        let rows = try context.sql.query("""
            SELECT author, seq, hlc, kind, body, signature, ord, edited_text, deleted FROM messages
            WHERE conversation_id = ? AND ord < ? AND kind IN ('create', 'member_add', 'member_remove', 'admin_add', 'leave', 'rename')
            ORDER BY ord LIMIT 2000
            """, [.text(conversation), .text(e.position)])
        var batch: [Envelope] = [], bytes = 0
        for row in rows {
            var envelope = Messages.envelope(conversation, row, from: 0)
            (envelope.ord, envelope.editedText, envelope.deleted) = (nil, nil, nil)
            if bytes + envelope.body.utf8.count + 400 > 48 * 1024, !batch.isEmpty {
                try context.net.send(to: home, PeerMessage(bootstrap: Bootstrap(homes: homes, envelopes: batch)))
                (batch, bytes) = ([], 0)
            }
            batch.append(envelope)
            bytes += envelope.body.utf8.count + 400
        }
        if !batch.isEmpty { try context.net.send(to: home, PeerMessage(bootstrap: Bootstrap(homes: homes, envelopes: batch))) }
    }

    /// A conversation's membership handed over by `peer`, this node joining it: each envelope checked and applied.
    static func bootstrapped(_ b: Bootstrap, from peer: String, _ context: Context) throws {
        guard b.homes.count <= Messages.maxGroupMembers * 4, b.envelopes.count <= 2000,
              b.homes.allSatisfy({ isNodeID($0.value) }) else {
            throw AppError.badRequest("a bootstrap holds at most 1,024 homes, each a node id, and 2,000 envelopes", code: "invalid_field")
        }
        for e in b.envelopes {
            try e.check(context, remote: true)
            if try Messages.apply(e, from: .bootstrap(peer: peer, homes: b.homes), context) { try drain(after: e, context) }
        }
    }

    /// An envelope from `peer`: checked again here, then applied, or held until what it builds on arrives.
    static func received(_ e: Envelope, from peer: String, _ context: Context) throws {
        try e.check(context, remote: true)
        if try Messages.apply(e, from: .peer(peer), context) {
            try acknowledge(e, to: peer, context)
            try drain(after: e, context)
        }
    }

    /// Tells the author's home node that the envelope reached the home of the members who live here.
    static func acknowledge(_ e: Envelope, to peer: String, _ context: Context) throws {
        guard let here = context.apps.nodeID else { return }
        let local = try context.sql.query("SELECT member FROM members WHERE conversation_id = ? AND home = ? AND left_ord IS NULL",
                                          [.text(e.conversationId), .text(here)]).compactMap { $0.text(0) }
        guard !local.isEmpty else { return }
        try context.net.send(to: peer, PeerMessage(delivered: Delivered(conversationId: e.conversationId, ord: e.position, members: local)))
    }

    /// A delivered receipt from `peer`: counted only for members whose home it is.
    static func delivered(_ d: Delivered, from peer: String, _ context: Context) throws {
        try Envelope.conversationID(d.conversationId, "conversation_id")
        for member in d.members.prefix(Messages.maxGroupMembers) {
            try context.sql.exec("""
                UPDATE members SET delivered_ord = max(delivered_ord, ?) WHERE conversation_id = ? AND member = ? AND home = ?
                """, [.text(d.ord), .text(d.conversationId), .text(member), .text(peer)])
        }
        try Live.notify(.init(type: "delivered", conversationId: d.conversationId, members: Array(d.members.prefix(Messages.maxGroupMembers)),
                              ord: d.ord), in: d.conversationId, context)
    }

    /// After an envelope that others may wait for (a conversation's create, a member joining), applies what waits.
    static func drain(after e: Envelope, _ context: Context) throws {
        guard e.kind == "create" || e.kind == "member_add" else { return }
        var progress = true
        while progress {
            progress = false
            let rows = try context.sql.query("""
                SELECT author, seq, envelope, from_node FROM pending WHERE conversation_id = ? ORDER BY ord LIMIT 500
                """, [.text(e.conversationId)])
            for row in rows {
                guard let waiting = try? JSONDecoder().decode(Envelope.self, from: Data((row.text(2) ?? "").utf8)) else { continue }
                try context.sql.exec("DELETE FROM pending WHERE conversation_id = ? AND author = ? AND seq = ?",
                                     [.text(e.conversationId), .text(row.text(0) ?? ""), SQLValue(row.int(1) ?? 0)])
                // Held again if it still waits; dropped if it no longer applies (a 4xx now is one for good).
                do {
                    if try Messages.apply(waiting, from: .peer(row.text(3) ?? ""), context) {
                        try acknowledge(waiting, to: row.text(3) ?? "", context)
                        progress = true
                        try drain(after: waiting, context)
                    }
                } catch let error as AppError where (400..<500).contains(error.status) {
                    context.log(.warn, "dropped a held envelope of \(waiting.author) in \(waiting.conversationId): \(error.message)")
                }
            }
        }
    }

    /// Keeps an envelope that arrived before what it builds on.
    static func hold(_ e: Envelope, from peer: String, _ context: Context) throws {
        let held = try context.sql.first("SELECT count(*) FROM pending WHERE from_node = ?", [.text(peer)])?.int(0) ?? 0
        guard held < maxPendingPerPeer else {
            throw AppError.conflict("node \(peer) has \(held) envelopes waiting here already", code: "too_many_pending")
        }
        let json = String(decoding: try JSONEncoder().encode(e), as: UTF8.self)
        try context.sql.exec("""
            INSERT OR IGNORE INTO pending(conversation_id, author, seq, ord, envelope, from_node, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.text(e.conversationId), .text(e.author), .integer(e.seq), .text(e.position), .text(json), .text(peer), .integer(context.nowMs)])
    }

    /// Whether this envelope is here already (a peer sent it again).
    static func seen(_ e: Envelope, _ context: Context) throws -> Bool {
        try context.sql.first("SELECT 1 FROM messages WHERE conversation_id = ? AND author = ? AND seq = ?",
                              [.text(e.conversationId), .text(e.author), .integer(e.seq)]) != nil
    }

    /// A node id: 43 characters of unpadded base64url.
    static func isNodeID(_ id: String) -> Bool {
        id.utf8.count == 43 && CallerKey(id) != nil
    }
}
