import FoundationEssentials
import SynAppKit
import SynSpaces

struct ConversationRef: Codable, Sendable { var conversationId: String }

struct MemberView: Codable, Sendable {
    var member: String
    var role: String
    /// The member's home node (empty for members of a conversation made before homes were kept).
    var home: String
    /// How far the member's home node has the conversation (its last envelope's `ord` for members who live here).
    var deliveredOrd: String
    /// How far this member has read (an envelope's `ord`; empty: nothing yet).
    var readOrd: String
}

struct ConversationView: Codable, Sendable {
    var id: String
    var kind: String
    var title: String
    var createdBy: String
    var members: [MemberView]
    var lastOrd: String
    /// Envelopes by others after the caller's read position.
    var unread: Int
    /// The caller's next sequence number here (what their next envelope carries).
    var nextSeq: Int64
}

struct ConversationList: Codable, Sendable { var conversations: [ConversationView] }

struct ReadInput: Codable, Sendable {
    var conversationId: String
    /// The `ord` of the last envelope the caller has seen.
    var upTo: String
}

/// Conversations: who is in them, as their envelopes made it; the caller's list with unread counts; read receipts.
enum Conversations {
    static func register(_ routes: inout Routes) {
        routes.method("conversations.list") { (_: Empty, context) -> ConversationList in
            let caller = try context.requireCaller()
            let ids = try context.sql.query("""
                SELECT conversation_id FROM members WHERE member = ? AND left_ord IS NULL ORDER BY conversation_id LIMIT 500
                """, [.text(caller.id)]).compactMap { $0.text(0) }
            return ConversationList(conversations: try ids.compactMap { try view($0, for: caller.id, context) }
                .sorted { $0.lastOrd > $1.lastOrd })
        }
        routes.method("conversations.get") { (ref: ConversationRef, context) -> ConversationView in
            let caller = try context.requireCaller()
            try requireMember(caller.id, ref.conversationId, context)
            guard let view = try view(ref.conversationId, for: caller.id, context) else { throw AppError.notFound("no conversation \(ref.conversationId)") }
            return view
        }
        routes.method("receipts.read") { (input: ReadInput, context) -> ConversationView in
            let caller = try context.requireCaller()
            try requireMember(caller.id, input.conversationId, context)
            guard try context.sql.first("SELECT 1 FROM messages WHERE conversation_id = ? AND ord = ?",
                                        [.text(input.conversationId), .text(input.upTo)]) != nil else {
                throw AppError.badRequest("up_to is the ord of an envelope in this conversation", code: "invalid_field")
            }
            // A read position only moves forward.
            try context.sql.exec("UPDATE members SET read_ord = max(read_ord, ?) WHERE conversation_id = ? AND member = ?",
                                 [.text(input.upTo), .text(input.conversationId), .text(caller.id)])
            try Live.notify(.init(type: "read", conversationId: input.conversationId, member: caller.id, ord: input.upTo),
                            in: input.conversationId, except: caller.id, context)
            guard let view = try view(input.conversationId, for: caller.id, context) else { throw AppError.notFound("no conversation") }
            return view
        }
    }

    /// 404 unless `member` is in the conversation now: outsiders and removed members learn nothing.
    static func requireMember(_ member: String, _ id: String, _ context: Context) throws {
        try Envelope.conversationID(id, "conversation_id")
        guard try role(member, id, context) != nil else { throw AppError.notFound("no conversation \(id)") }
    }

    static func kind(_ id: String, _ context: Context) throws -> String? {
        try context.sql.first("SELECT kind FROM conversations WHERE id = ?", [.text(id)])?.text(0)
    }

    /// The member's role now, or nil if they are not in the conversation.
    static func role(_ member: String, _ id: String, _ context: Context) throws -> String? {
        try context.sql.first("SELECT role FROM members WHERE conversation_id = ? AND member = ? AND left_ord IS NULL",
                              [.text(id), .text(member)])?.text(0)
    }

    static func view(_ id: String, for caller: String, _ context: Context) throws -> ConversationView? {
        guard let c = try context.sql.first("SELECT kind, title, created_by, last_ord FROM conversations WHERE id = ?", [.text(id)]) else { return nil }
        let here = context.apps.nodeID ?? ""
        let members = try context.sql.query("""
            SELECT member, role, read_ord, home, delivered_ord FROM members WHERE conversation_id = ? AND left_ord IS NULL ORDER BY member
            """, [.text(id)]).map { r in
            let home = r.text(3) ?? ""
            return MemberView(member: r.text(0) ?? "", role: r.text(1) ?? "", home: home,
                              deliveredOrd: home == here || home.isEmpty ? (c.text(3) ?? "") : (r.text(4) ?? ""), readOrd: r.text(2) ?? "")
        }
        let read = members.first { $0.member == caller }?.readOrd ?? ""
        let unread = try context.sql.first("""
            SELECT count(*) FROM messages m WHERE conversation_id = ? AND ord > ? AND author <> ? AND \(Messages.visible)
            """, [.text(id), .text(read), .text(caller)])?.int(0) ?? 0
        let mine = try context.sql.first("SELECT max(seq) FROM messages WHERE conversation_id = ? AND author = ?",
                                         [.text(id), .text(caller)])?.int(0) ?? 0
        return ConversationView(id: id, kind: c.text(0) ?? "", title: c.text(1) ?? "", createdBy: c.text(2) ?? "", members: members,
                                lastOrd: c.text(3) ?? "", unread: unread, nextSeq: Int64(mine) + 1)
    }

    /// The member's home node, if they are or were in the conversation.
    static func home(_ member: String, _ id: String, _ context: Context) throws -> String? {
        try context.sql.first("SELECT home FROM members WHERE conversation_id = ? AND member = ?", [.text(id), .text(member)])?.text(0)
    }

    /// The role a member who has left had.
    static func pastRole(_ member: String, _ id: String, _ context: Context) throws -> String? {
        try context.sql.first("SELECT role FROM members WHERE conversation_id = ? AND member = ?", [.text(id), .text(member)])?.text(0)
    }

    /// A `create` envelope: the author's first in a new conversation; the author is its first admin. Members
    /// whose home the body does not name live on the author's home node.
    static func create(_ e: Envelope, authorHome: String, _ context: Context) throws {
        guard e.seq == 1 else { throw AppError.badRequest("a create envelope is its author's seq 1", code: "invalid_field") }
        // Thread ids ("t.") are Messaging's own: nobody else may take one before Messaging opens it.
        if e.conversationId.hasPrefix("t."), e.author != Base64URL.encode(try context.identity.publicKey()) {
            throw AppError.badRequest("conversation ids starting with t. are the threads Messaging opens on orders", code: "invalid_field")
        }
        guard let body = try? JSONDecoder().decode(CreateBody.self, from: Data(e.body.utf8)) else {
            throw AppError.badRequest(#"a create body is {"kind": "direct" or "group", "title": "...", "members": [key ids]}"#, code: "invalid_field")
        }
        var others: [String] = []
        for (i, member) in body.members.enumerated() {
            guard let key = CallerKey(member), key.id == member else {
                throw AppError.badRequest("members[\(i)] is a key id (43 characters of unpadded base64url)", code: "invalid_field")
            }
            if member != e.author && !others.contains(member) { others.append(member) }
        }
        let title: String
        switch body.kind {
        case "direct":
            guard others.count == 1, let other = others.first else {
                throw AppError.badRequest("a direct conversation has exactly one other member", code: "invalid_field")
            }
            guard e.conversationId == Envelope.directID(e.author, other) else {
                throw AppError.badRequest("the direct conversation of these two people has id \(Envelope.directID(e.author, other))", code: "invalid_field")
            }
            title = ""
        case "group":
            guard others.count < Messages.maxGroupMembers else {
                throw AppError.badRequest("a group has at most \(Messages.maxGroupMembers) members", code: "invalid_field")
            }
            title = body.title ?? ""
            try Validate.text(title, "title", max: 200)
        default:
            throw AppError.badRequest("kind is direct or group", code: "invalid_field")
        }
        guard try kind(e.conversationId, context) == nil else {
            throw AppError.conflict("conversation \(e.conversationId) exists", code: "exists")
        }
        try context.sql.exec("INSERT INTO conversations(id, kind, title, created_by, created_ms) VALUES (?, ?, ?, ?, ?)",
                             [.text(e.conversationId), .text(body.kind), .text(title), .text(e.author), .integer(context.nowMs)])
        let homes = body.homes ?? [:]
        for (member, home) in homes where !Replication.isNodeID(home) {
            throw AppError.badRequest("homes.\(member) is a node id (43 characters of unpadded base64url)", code: "invalid_field")
        }
        try join(e.author, role: body.kind == "group" ? "admin" : "member", home: authorHome, e, context)
        for other in others { try join(other, role: "member", home: homes[other] ?? authorHome, e, context) }
    }

    /// member_add, member_remove, admin_add and rename, by an admin of a group.
    static func administer(_ e: Envelope, authorHome: String, _ context: Context) throws {
        if e.kind == "rename" {
            guard let body = try? JSONDecoder().decode(RenameBody.self, from: Data(e.body.utf8)) else {
                throw AppError.badRequest(#"a rename body is {"title": "..."}"#, code: "invalid_field")
            }
            try Validate.text(body.title, "title", max: 200)
            try context.sql.exec("UPDATE conversations SET title = ? WHERE id = ?", [.text(body.title), .text(e.conversationId)])
            return
        }
        guard let body = try? JSONDecoder().decode(MemberBody.self, from: Data(e.body.utf8)), let key = CallerKey(body.member), key.id == body.member else {
            throw AppError.badRequest(#"a member body is {"member": "<key id>"}"#, code: "invalid_field")
        }
        let current = try role(body.member, e.conversationId, context)
        switch e.kind {
        case "member_add":
            guard current == nil else { throw AppError.conflict("\(body.member) is already a member", code: "already_member") }
            // One stay per member: who was removed stays removed (every node then agrees on who wrote when).
            guard try pastRole(body.member, e.conversationId, context) == nil else {
                throw AppError.conflict("\(body.member) left or was removed, and does not come back in this version", code: "removed")
            }
            if let home = body.home, !Replication.isNodeID(home) {
                throw AppError.badRequest("home is a node id (43 characters of unpadded base64url)", code: "invalid_field")
            }
            let count = try context.sql.first("SELECT count(*) FROM members WHERE conversation_id = ? AND left_ord IS NULL",
                                              [.text(e.conversationId)])?.int(0) ?? 0
            guard count < Messages.maxGroupMembers else { throw AppError.conflict("the group has \(count) members, the most it may", code: "group_full") }
            try join(body.member, role: "member", home: body.home ?? authorHome, e, context)
        case "member_remove":
            guard current != nil else { throw AppError.conflict("\(body.member) is not a member", code: "not_member") }
            try context.sql.exec("UPDATE members SET left_ord = ? WHERE conversation_id = ? AND member = ?",
                                 [.text(e.position), .text(e.conversationId), .text(body.member)])
        default: // admin_add
            guard current != nil else { throw AppError.conflict("\(body.member) is not a member", code: "not_member") }
            try context.sql.exec("UPDATE members SET role = 'admin' WHERE conversation_id = ? AND member = ?",
                                 [.text(e.conversationId), .text(body.member)])
        }
    }

    /// The author leaves; a group's last admin hands the role to the longest-standing member first.
    static func leave(_ member: String, _ e: Envelope, _ context: Context) throws {
        guard try kind(e.conversationId, context) == "group" else {
            throw AppError.conflict("a direct conversation has its two people: nobody leaves it", code: "direct")
        }
        try context.sql.exec("UPDATE members SET left_ord = ? WHERE conversation_id = ? AND member = ?",
                             [.text(e.position), .text(e.conversationId), .text(member)])
        let admins = try context.sql.first("SELECT count(*) FROM members WHERE conversation_id = ? AND left_ord IS NULL AND role = 'admin'",
                                           [.text(e.conversationId)])?.int(0) ?? 0
        if admins == 0 {
            try context.sql.exec("""
                UPDATE members SET role = 'admin' WHERE conversation_id = ?1 AND member =
                    (SELECT member FROM members WHERE conversation_id = ?1 AND left_ord IS NULL ORDER BY joined_ord, member LIMIT 1)
                """, [.text(e.conversationId)])
        }
    }

    /// Adds a member, living on node `home`, as of envelope `e`.
    static func join(_ member: String, role: String, home: String, _ e: Envelope, _ context: Context) throws {
        try context.sql.exec("INSERT INTO members(conversation_id, member, role, joined_ord, home) VALUES (?, ?, ?, ?, ?)",
                             [.text(e.conversationId), .text(member), .text(role), .text(e.position), .text(home)])
    }
}
