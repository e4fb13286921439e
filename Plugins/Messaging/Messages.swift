import FoundationEssentials
import SynAppKit
import SynSpaces

/// What `create` carries: a direct conversation with one other person, or a group with a title and members.
struct CreateBody: Codable, Sendable {
    var kind: String
    var title: String?
    var members: [String]
    /// Members' home nodes, by key id; a member not listed lives on the author's home node.
    var homes: [String: String]?
}

/// What `member_add`, `member_remove` and `admin_add` carry (`home`: the added member's home node; default: the
/// author's).
struct MemberBody: Codable, Sendable {
    var member: String
    var home: String?
}

/// Where an envelope came from: posted here by its author, relayed by the author's home node, or part of the
/// state a node hands a home node that joins the conversation (`homes`: every member's home, as it knows them).
enum Origin: Equatable {
    case local(node: String)
    case peer(String)
    case bootstrap(peer: String, homes: [String: String])

    var isRemote: Bool {
        if case .local = self { return false }
        return true
    }

    var isBootstrap: Bool {
        if case .bootstrap = self { return true }
        return false
    }

    /// The node that sent it.
    var sender: String {
        switch self {
        case .local(let node): node
        case .peer(let node): node
        case .bootstrap(let peer, _): peer
        }
    }

    /// The author's home node (where members a create or member_add does not place live).
    func home(of author: String) -> String {
        if case .bootstrap(let peer, let homes) = self { return homes[author] ?? peer }
        return sender
    }
}

/// What home nodes send each other: an envelope, exactly as its author signed it, from the author's home; or,
/// back to it, that the envelope at `ord` reached the home of `members`; or, to a home node that joins, the
/// conversation's membership so far.
struct PeerMessage: Codable, Sendable {
    var envelope: Envelope?
    var delivered: Delivered?
    var bootstrap: Bootstrap?
    var attachment: AttachmentPut? = nil
}

/// A conversation's create and membership envelopes, in order, and every member's home node.
struct Bootstrap: Codable, Sendable {
    var homes: [String: String]
    var envelopes: [Envelope]
}

struct Delivered: Codable, Sendable {
    var conversationId: String
    var ord: String
    var members: [String]
}
/// What `rename` carries.
struct RenameBody: Codable, Sendable { var title: String }
/// What `edit` and `delete` carry: the author's own text they change (its `seq`), and an edit's new text.
struct EditBody: Codable, Sendable {
    var seq: Int64
    var text: String?
}

/// The head of a structured document: its type says how clients show it.
struct StructuredHead: Codable, Sendable { var type: String }

struct PostInput: Codable, Sendable { var envelope: Envelope }

struct Posted: Codable, Sendable {
    var conversationId: String
    var ord: String
    /// The author's next sequence number in this conversation.
    var nextSeq: Int64
}

struct HistoryQuery: Codable, Sendable {
    var conversationId: String
    /// Envelopes after this `ord` (exclusive; the next page's cursor), oldest first.
    var after: String?
    var limit: Int?
}

struct HistoryPage: Codable, Sendable {
    var envelopes: [Envelope]
    /// The `after` of the next page, or nil at the end.
    var next: String?
}

struct SearchQuery: Codable, Sendable {
    var q: String
    var limit: Int?
}

struct SearchHit: Codable, Sendable {
    var conversationId: String
    var envelope: Envelope
}

struct SearchResult: Codable, Sendable { var hits: [SearchHit] }

/// Posting (every change is an envelope), reading history by cursor, and searching one's own conversations.
enum Messages {
    static let maxGroupMembers = 256

    static func register(_ routes: inout Routes) {
        routes.method("messages.post") { (input: PostInput, context) -> Reply<Posted> in
            let caller = try context.requireCaller()
            let e = input.envelope
            // Checked first: the shape, then the author's signature; only the author posts their own envelopes here.
            try e.check(context)
            guard e.author == caller.id else {
                throw AppError.forbidden("the envelope's author is \(e.author), not the caller: each person posts their own envelopes")
            }
            // A file it shares must be uploaded to the conversation first.
            if e.kind == "structured" { try Attachments.check(e, context) }
            try postLocal(e, context)
            // A party's order_action in a thread is carried out for them, and its result posted after it.
            if e.kind == "structured", e.conversationId.hasPrefix("t.") { try OrderThreads.perform(e, context) }
            return Reply(status: 201, Posted(conversationId: e.conversationId, ord: e.position, nextSeq: e.seq + 1))
        }
        routes.method("messages.history") { (query: HistoryQuery, context) -> HistoryPage in
            let caller = try context.requireCaller()
            try Conversations.requireMember(caller.id, query.conversationId, context)
            let limit = min(max(query.limit ?? 50, 1), 200)
            let rows = try context.sql.query("""
                SELECT author, seq, hlc, kind, body, signature, ord, edited_text, deleted FROM messages m WHERE conversation_id = ? AND ord > ?
                AND \(visible) ORDER BY ord LIMIT ?
                """, [.text(query.conversationId), .text(query.after ?? ""), .integer(Int64(limit + 1))])
            let envelopes = rows.prefix(limit).map { envelope(query.conversationId, $0, from: 0) }
            return HistoryPage(envelopes: envelopes, next: rows.count > limit ? envelopes.last?.ord : nil)
        }
        routes.method("messages.search") { (query: SearchQuery, context) -> SearchResult in
            let caller = try context.requireCaller()
            guard let terms = SearchScore.ftsQuery(query.q) else {
                throw AppError.badRequest("q needs at least one word to search for", code: "invalid_field")
            }
            let limit = min(max(query.limit ?? 20, 1), 100)
            // Only the caller's own conversations, as a member now.
            let rows = try context.sql.query("""
                SELECT m.conversation_id, m.author, m.seq, m.hlc, m.kind, m.body, m.signature, m.ord, m.edited_text, m.deleted
                FROM messages_fts f JOIN messages m ON m.fts_rowid = f.rowid
                JOIN members p ON p.conversation_id = m.conversation_id AND p.member = ? AND p.left_ord IS NULL
                WHERE messages_fts MATCH ? AND \(visible) ORDER BY bm25(messages_fts) LIMIT ?
                """, [.text(caller.id), .text(terms), .integer(Int64(limit))])
            return SearchResult(hits: rows.map { r in
                let id = r.text(0) ?? ""
                return SearchHit(conversationId: id, envelope: envelope(id, r, from: 1))
            })
        }
    }

    /// An envelope from a row's columns author, seq, hlc, kind, body, signature, ord, edited_text, deleted, starting
    /// at column `from`.
    static func envelope(_ conversation: String, _ r: Row, from i: Int) -> Envelope {
        Envelope(conversationId: conversation, author: r.text(i) ?? "", seq: Int64(r.int(i + 1) ?? 0), hlc: Int64(r.int(i + 2) ?? 0),
                 kind: r.text(i + 3) ?? "", body: r.text(i + 4) ?? "", signature: r.text(i + 5) ?? "", ord: r.text(i + 6),
                 editedText: r.text(i + 7), deleted: r.int(i + 8) == 1 ? true : nil)
    }

    /// An envelope posted on this node (by a person, or by Messaging itself): applied, what waited for it applied
    /// too, and sent to the other members' home nodes.
    static func postLocal(_ e: Envelope, _ context: Context) throws {
        let here = context.apps.nodeID ?? ""
        try apply(e, from: .local(node: here), context)
        try Replication.drain(after: e, context)
        try Replication.send(e, from: here, context)
    }

    /// Applies a checked envelope to its conversation: the order rules, then what its kind changes, then the log.
    /// From a peer, an envelope that builds on what has not arrived yet (its conversation, its author's joining)
    /// waits in `pending`, and one already applied is ignored: the answer is then false.
    @discardableResult
    static func apply(_ e: Envelope, from origin: Origin, _ context: Context) throws -> Bool {
        let remote = origin.isRemote, authorHome = origin.home(of: e.author)
        if e.kind == "create" {
            if remote, try Conversations.kind(e.conversationId, context) != nil { return false }
            try Conversations.create(e, authorHome: authorHome, context)
            try record(e, context)
            return true
        }
        guard let conversation = try Conversations.kind(e.conversationId, context) else {
            if remote { try Replication.hold(e, from: origin.sender, context); return false }
            throw AppError.notFound("no conversation \(e.conversationId)")
        }
        if remote {
            // Only the author's home node relays the author's envelopes (and a joining node's handover), once each.
            guard let home = try Conversations.home(e.author, e.conversationId, context) else {
                try Replication.hold(e, from: origin.sender, context)
                return false
            }
            // A relayed envelope comes from its author's home; the state a joining node is handed, from a member's.
            guard home == origin.sender || origin.isBootstrap else {
                throw AppError.forbidden("\(e.author)'s home node is \(home), not \(origin.sender)")
            }
            if try Replication.seen(e, context) { return false }
        }
        // A member now, for what is posted here; for what a home node relays, one whose place in the log the
        // readers check (`visible`), so every node shows the same envelopes whatever order they arrived in.
        let role = try Conversations.role(e.author, e.conversationId, context)
            ?? (remote ? try Conversations.pastRole(e.author, e.conversationId, context) : nil)
        guard let role else { throw AppError.forbidden("\(e.author) is not a member of conversation \(e.conversationId)") }
        try order(e, strict: !remote, context)
        try change(e, conversation: conversation, authorRole: role, authorHome: authorHome, context)
        try record(e, context)
        return true
    }

    /// Whether the author of the envelope in `m` was a member when they wrote it: the readers' filter.
    static let visible = """
        EXISTS (SELECT 1 FROM members v WHERE v.conversation_id = m.conversation_id AND v.member = m.author
                AND v.joined_ord <= m.ord AND (v.left_ord IS NULL OR m.ord <= v.left_ord))
        """

    /// An author's envelopes come one at a time, in sequence, each later than the last. Posted here, with no gap
    /// (`strict`); relayed, a gap is what was said before this node's members joined.
    static func order(_ e: Envelope, strict: Bool = true, _ context: Context) throws {
        let last = try context.sql.first("""
            SELECT seq, hlc FROM messages WHERE conversation_id = ? AND author = ? ORDER BY seq DESC LIMIT 1
            """, [.text(e.conversationId), .text(e.author)])
        let lastSeq = Int64(last?.int(0) ?? 0), lastHLC = Int64(last?.int(1) ?? 0)
        if e.seq <= lastSeq {
            throw AppError.conflict("\(e.author) already posted seq \(e.seq) here (a replay, or another device); the next is \(lastSeq + 1)", code: "seq_taken")
        }
        guard e.seq == lastSeq + 1 || !strict else {
            throw AppError.conflict("seq \(e.seq) skips ahead: the next of \(e.author) here is \(lastSeq + 1)", code: "seq_gap")
        }
        guard e.hlc > lastHLC else {
            throw AppError.conflict("hlc \(e.hlc) is not after \(e.author)'s last here (\(lastHLC))", code: "hlc_behind")
        }
    }

    /// What a kind does to the conversation: content kinds are checked, membership kinds need an admin.
    static func change(_ e: Envelope, conversation: String, authorRole: String, authorHome: String, _ context: Context) throws {
        switch e.kind {
        case "text":
            try Validate.text(e.body, "body", max: Envelope.maxBody)
        case "structured":
            guard let head = try? JSONDecoder().decode(StructuredHead.self, from: Data(e.body.utf8)), Envelope.structuredTypes.contains(head.type) else {
                throw AppError.badRequest("a structured body is a JSON object whose type is one of \(Envelope.structuredTypes.sorted().joined(separator: ", "))", code: "invalid_field")
            }
        case "leave":
            try Conversations.leave(e.author, e, context)
        case "edit", "delete":
            try amend(e, context)
        default:
            guard conversation == "group" else {
                throw AppError.conflict("a direct conversation has its two people: nobody joins, leaves or renames it", code: "direct")
            }
            guard authorRole == "admin" else { throw AppError.forbidden("only an admin may \(e.kind) in this group") }
            try Conversations.administer(e, authorHome: authorHome, context)
        }
    }

    /// An edit or a deletion of one of the author's own texts: the latest in the log wins, so nodes agree whatever
    /// order the author's envelopes took to reach them (they come in order from one home node anyway).
    static func amend(_ e: Envelope, _ context: Context) throws {
        guard let body = try? JSONDecoder().decode(EditBody.self, from: Data(e.body.utf8)), body.seq < e.seq else {
            throw AppError.badRequest(#"an edit body is {"seq": <your earlier text's seq>, "text": "..."}; a delete body is {"seq": ...}"#, code: "invalid_field")
        }
        guard let target = try context.sql.first("""
            SELECT kind, edited_ord, deleted, fts_rowid FROM messages WHERE conversation_id = ? AND author = ? AND seq = ?
            """, [.text(e.conversationId), .text(e.author), .integer(body.seq)]), target.text(0) == "text" else {
            throw AppError.badRequest("seq \(body.seq) is not one of your texts in this conversation", code: "invalid_field")
        }
        guard target.int(2) == 0 else { throw AppError.conflict("that text was deleted", code: "deleted") }
        guard e.position > (target.text(1) ?? "") else { return }
        let key: [SQLValue] = [.text(e.conversationId), .text(e.author), .integer(body.seq)]
        if e.kind == "edit" {
            guard let text = body.text else { throw AppError.badRequest("an edit carries its new text", code: "invalid_field") }
            try Validate.text(text, "text", max: Envelope.maxBody)
            try context.sql.exec("UPDATE messages SET edited_text = ?, edited_ord = ? WHERE conversation_id = ? AND author = ? AND seq = ?",
                                 [.text(text), .text(e.position)] + key)
            if let row = target.int(3) { try context.sql.exec("UPDATE messages_fts SET body = ? WHERE rowid = ?", [.text(text), SQLValue(row)]) }
        } else {
            // The words go: the stored text, its edit and its search row. The deletion's envelope stays, signed.
            try context.sql.exec("""
                UPDATE messages SET deleted = 1, body = '', edited_text = NULL, edited_ord = ? WHERE conversation_id = ? AND author = ? AND seq = ?
                """, [.text(e.position)] + key)
            if let row = target.int(3) { try context.sql.exec("DELETE FROM messages_fts WHERE rowid = ?", [SQLValue(row)]) }
            // Its earlier edits carried its words too.
            try context.sql.exec("""
                UPDATE messages SET body = '', deleted = 1 WHERE conversation_id = ? AND author = ? AND kind = 'edit' AND json_extract(body, '$.seq') = ?
                """, [.text(e.conversationId), .text(e.author), .integer(body.seq)])
        }
    }

    /// Keeps the envelope in the conversation's log (and its text in the search index).
    static func record(_ e: Envelope, _ context: Context) throws {
        try context.sql.exec("""
            INSERT INTO messages(conversation_id, author, seq, hlc, ord, kind, body, signature, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(e.conversationId), .text(e.author), .integer(e.seq), .integer(e.hlc), .text(e.position), .text(e.kind),
                  .text(e.body), .text(e.signature), .integer(context.nowMs)])
        if e.kind == "text" {
            try context.sql.exec("INSERT INTO messages_fts(conversation_id, body) VALUES (?, ?)", [.text(e.conversationId), .text(e.body)])
            try context.sql.exec("UPDATE messages SET fts_rowid = last_insert_rowid() WHERE conversation_id = ? AND author = ? AND seq = ?",
                                 [.text(e.conversationId), .text(e.author), .integer(e.seq)])
        }
        try context.sql.exec("UPDATE conversations SET last_ord = max(last_ord, ?) WHERE id = ?", [.text(e.position), .text(e.conversationId)])
        try Live.recorded(e, context)
    }
}
