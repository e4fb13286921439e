import FoundationEssentials
import SynAppKit
import SynSpaces

/// A piece of a file: uploaded by a member (`attachments.put`), or on its way to another member's home node.
struct AttachmentPut: Codable, Sendable {
    var conversationId: String
    var sha256: String
    var size: Int
    var mime: String
    var offset: Int
    /// Unpadded base64url of the piece at `offset` (at most 512 KiB of bytes).
    var data: String
}

struct AttachmentPutReply: Codable, Sendable {
    var sha256: String
    var received: Int
    var complete: Bool
}

struct AttachmentGet: Codable, Sendable {
    var conversationId: String
    var sha256: String
    var offset: Int?
    var length: Int?
}

struct AttachmentPiece: Codable, Sendable {
    var sha256: String
    var mime: String
    var size: Int
    var offset: Int
    var data: String
    /// Where the next piece starts, or nil after the last.
    var next: Int?
}

/// A structured `attachment` document: what an envelope says about the file it shares.
struct AttachmentDoc: Decodable, Sendable {
    var type: String
    var sha256: String
    var size: Int
    var mime: String
}

/// Attachments: files of up to 1 MiB shared in a conversation, stored once by content (their SHA-256, checked
/// here when the last piece arrives) and readable by the conversation's members. A member uploads one in pieces
/// (`attachments.put`, at most 512 KiB each, as a request body and an answer are at most 1 MiB), then posts a
/// structured `attachment` envelope naming it; the file follows that envelope to the other members' home nodes, in
/// 32 KiB pieces over `net_send` (512 KiB a call, from scheduled work), and each node checks its content address again.
enum Attachments {
    static let maxSize = 1 << 20
    static let maxPiece = 512 * 1024
    static let peerPiece = 32 * 1024
    /// Unfinished uploads one person (or peer node) may have, and how long the pieces of one wait.
    static let maxUnfinished = 4
    static let maxUnfinishedPerPeer = 16
    static let unfinishedMs: Int64 = 3_600_000

    static func register(_ routes: inout Routes) {
        routes.onDue(sendingKind) { (s: Sending, _, context) in try sendSome(s, context) }
        routes.method("attachments.put") { (input: AttachmentPut, context) -> AttachmentPutReply in
            let caller = try context.requireCaller()
            try Conversations.requireMember(caller.id, input.conversationId, context)
            return try receive(input.conversationId, sha256: input.sha256, size: input.size, mime: input.mime, offset: input.offset,
                               data: input.data, from: "person:" + caller.id, maxPiece: maxPiece, limit: maxUnfinished, by: caller.id, context)
        }
        routes.method("attachments.get") { (input: AttachmentGet, context) -> AttachmentPiece in
            let caller = try context.requireCaller()
            try Conversations.requireMember(caller.id, input.conversationId, context)
            guard try context.sql.first("SELECT 1 FROM attachment_refs WHERE conversation_id = ? AND sha256 = ?",
                                        [.text(input.conversationId), .text(input.sha256)]) != nil,
                  let row = try context.sql.first("SELECT size, mime FROM attachments WHERE sha256 = ?", [.text(input.sha256)]) else {
                throw AppError.notFound("no attachment \(input.sha256) in conversation \(input.conversationId)")
            }
            let size = row.int(0) ?? 0, offset = input.offset ?? 0, length = min(max(input.length ?? maxPiece, 1), maxPiece)
            guard (0..<size).contains(offset) else { throw AppError.badRequest("offset is 0 to \(size - 1)", code: "invalid_field") }
            let piece = try self.piece(input.sha256, at: offset, length: length, context)
            let end = offset + piece.count
            return AttachmentPiece(sha256: input.sha256, mime: row.text(1) ?? "", size: size, offset: offset,
                                   data: Base64URL.encode(piece), next: end < size ? end : nil)
        }
    }

    /// A piece of an upload (from a person here, or a peer node): checked, kept, and once every byte is there, the
    /// whole checked against its content address and stored. `from` scopes unfinished uploads (`person:<key>` or
    /// `node:<id>`), at most `limit` at a time.
    static func receive(_ conversation: String, sha256: String, size: Int, mime: String, offset: Int, data: String, from: String,
                        maxPiece: Int, limit: Int, by author: String, _ context: Context) throws -> AttachmentPutReply {
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw AppError.badRequest("sha256 is the file's SHA-256 as 64 lowercase hex digits", code: "invalid_field")
        }
        guard (1...maxSize).contains(size) else { throw AppError.badRequest("size is 1 to \(maxSize) bytes (1 MiB)", code: "too_large") }
        try Validate.text(mime, "mime", max: 100)
        guard mime.contains("/"), mime.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 }) else {
            throw AppError.badRequest("mime is a media type such as image/jpeg", code: "invalid_field")
        }
        guard let bytes = Base64URL.decode(data), !bytes.isEmpty, bytes.count <= maxPiece else {
            throw AppError.badRequest("data is 1 to \(maxPiece / 1024) KiB of unpadded base64url", code: "invalid_field")
        }
        guard offset >= 0, offset <= size, bytes.count <= size - offset else {
            throw AppError.badRequest("the piece at \(offset) of \(bytes.count) bytes runs past size \(size)", code: "invalid_field")
        }
        // Pieces of at least 32 KiB (but the last), so an upload is a few rows, whoever sends it.
        guard bytes.count >= min(peerPiece, size - offset) else {
            throw AppError.badRequest("a piece is at least 32 KiB, but the file's last", code: "invalid_field")
        }
        let now = context.nowMs
        // A file stored already (for another conversation) is uploaded whole again all the same: knowing its address
        // must not be enough to read it from one's own conversation.
        try context.sql.exec("DELETE FROM attachment_parts WHERE received_ms < ?", [.integer(now - unfinishedMs)])
        // In order, one piece after the other, with the size and type the first gave; a piece at 0 starts over.
        if offset == 0 {
            try context.sql.exec("DELETE FROM attachment_parts WHERE sha256 = ? AND source = ?", [.text(sha256), .text(from)])
        } else {
            let sofar = try context.sql.first("""
                SELECT coalesce(sum(length(data)), 0), min(size), min(mime), count(*) FROM attachment_parts WHERE source = ? AND sha256 = ?
                """, [.text(from), .text(sha256)])
            let covered = sofar?.int(0) ?? 0
            guard (sofar?.int(3) ?? 0) > 0, sofar?.int(1) == size, sofar?.text(2) == mime else {
                throw AppError.conflict("no upload of \(sha256) with this size and mime is under way: start at offset 0", code: "out_of_order")
            }
            guard offset == covered else {
                throw AppError.conflict("the next piece of \(sha256) starts at offset \(covered)", code: "out_of_order")
            }
        }
        let unfinished = try context.sql.first("""
            SELECT count(DISTINCT sha256) FROM attachment_parts WHERE source = ? AND sha256 <> ?
            """, [.text(from), .text(sha256)])?.int(0) ?? 0
        guard unfinished < limit else {
            throw AppError.conflict("\(unfinished) uploads are unfinished; finish one (or wait an hour) first", code: "too_many_uploads")
        }
        try context.sql.exec("""
            INSERT INTO attachment_parts(sha256, source, offset, size, mime, data, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.text(sha256), .text(from), .integer(Int64(offset)), .integer(Int64(size)), .text(mime), .blob(bytes), .integer(now)])
        guard offset + bytes.count == size else { return AttachmentPutReply(sha256: sha256, received: offset + bytes.count, complete: false) }
        // Whole: the pieces, in order, cover every byte. One piece a query (a row of an answer is at most 1 MiB).
        var whole: [UInt8] = []
        whole.reserveCapacity(size)
        for part in try context.sql.query("SELECT offset FROM attachment_parts WHERE source = ? AND sha256 = ? ORDER BY offset",
                                          [.text(from), .text(sha256)]) {
            whole += try context.sql.first("SELECT data FROM attachment_parts WHERE source = ? AND sha256 = ? AND offset = ?",
                                           [.text(from), .text(sha256), .integer(Int64(part.int(0) ?? 0))])?.blob(0) ?? []
        }
        let actual = Digest.sha256Hex(whole)
        guard whole.count == size, actual == sha256 else {
            try context.sql.exec("DELETE FROM attachment_parts WHERE sha256 = ? AND source = ?", [.text(sha256), .text(from)])
            throw AppError.conflict("the file's SHA-256 is \(actual), not \(sha256): upload it again", code: "digest_mismatch")
        }
        // Stored once, whichever conversation it came for first.
        if try context.sql.exec("INSERT OR IGNORE INTO attachments(sha256, size, mime, created_ms) VALUES (?, ?, ?, ?)",
                                [.text(sha256), .integer(Int64(size)), .text(mime), .integer(now)]) > 0 {
            try context.sql.exec("""
                INSERT INTO attachment_pieces(sha256, offset, data) SELECT sha256, offset, data FROM attachment_parts
                WHERE source = ? AND sha256 = ?
                """, [.text(from), .text(sha256)])
        }
        try context.sql.exec("DELETE FROM attachment_parts WHERE sha256 = ? AND source = ?", [.text(sha256), .text(from)])
        try reference(conversation, sha256, by: author, context)
        return AttachmentPutReply(sha256: sha256, received: size, complete: true)
    }

    /// Up to `length` bytes of the stored file from `offset`, within the piece that holds `offset`.
    static func piece(_ sha256: String, at offset: Int, length: Int, _ context: Context) throws -> [UInt8] {
        guard let row = try context.sql.first("""
            SELECT offset, length(data) FROM attachment_pieces WHERE sha256 = ? AND offset <= ? ORDER BY offset DESC LIMIT 1
            """, [.text(sha256), .integer(Int64(offset))]) else { return [] }
        let start = row.int(0) ?? 0
        let take = min(length, (row.int(1) ?? 0) - (offset - start))
        guard take > 0 else { return [] }
        return try context.sql.first("SELECT substr(data, ?, ?) FROM attachment_pieces WHERE sha256 = ? AND offset = ?",
                                     [.integer(Int64(offset - start + 1)), .integer(Int64(take)), .text(sha256), .integer(Int64(start))])?.blob(0) ?? []
    }

    static func reference(_ conversation: String, _ sha256: String, by author: String, _ context: Context) throws {
        try context.sql.exec("""
            INSERT OR IGNORE INTO attachment_refs(conversation_id, sha256, added_by, added_ms) VALUES (?, ?, ?, ?)
            """, [.text(conversation), .text(sha256), .text(author), .integer(context.nowMs)])
    }

    /// A structured `attachment` envelope posted here names a file stored here for its conversation.
    static func check(_ e: Envelope, _ context: Context) throws {
        guard (try? JSONDecoder().decode(StructuredHead.self, from: Data(e.body.utf8)))?.type == "attachment" else { return }
        guard let doc = try? JSONDecoder().decode(AttachmentDoc.self, from: Data(e.body.utf8)) else {
            throw AppError.badRequest(#"an attachment is {"type": "attachment", "sha256", "size", "mime"}"#, code: "invalid_field")
        }
        guard let row = try context.sql.first("""
            SELECT a.size, a.mime FROM attachment_refs r JOIN attachments a ON a.sha256 = r.sha256 WHERE r.conversation_id = ? AND r.sha256 = ?
            """, [.text(e.conversationId), .text(doc.sha256)]) else {
            throw AppError.badRequest("attachment \(doc.sha256) is not uploaded to this conversation: attachments.put it first", code: "attachment_missing")
        }
        guard row.int(0) == doc.size, row.text(1) == doc.mime else {
            throw AppError.badRequest("the attachment's size and mime are \(row.int(0) ?? 0) and \(row.text(1) ?? "")", code: "invalid_field")
        }
    }

    /// After an `attachment` envelope went to node `home`: the file follows, in 32 KiB pieces, 512 KiB a call
    /// (a call's messages to peers are at most 1 MiB), from scheduled work; once per node, file and conversation
    /// (that node needs the whole file to let the conversation read it, and shows it once it has all of it).
    static func send(for e: Envelope, to home: String, _ context: Context) throws {
        guard e.kind == "structured", let doc = try? JSONDecoder().decode(AttachmentDoc.self, from: Data(e.body.utf8)), doc.type == "attachment"
        else { return }
        let key = Sending(sha256: doc.sha256, node: home, conversationId: e.conversationId)
        guard try context.sql.exec("INSERT OR IGNORE INTO attachment_sent(sha256, node, conversation_id) VALUES (?, ?, ?)",
                                   [.text(key.sha256), .text(key.node), .text(key.conversationId)]) > 0 else { return }
        try key.schedule(context)
    }

    struct Sending: Codable, Sendable {
        var sha256: String
        var node: String
        var conversationId: String

        /// Its next 512 KiB go out now, in a call of their own.
        func schedule(_ context: Context) throws {
            try context.schedule.at(context.nowMs, Attachments.sendingKind, key: sha256 + "/" + node + "/" + conversationId, self)
        }
    }

    static let sendingKind = "attachment.send"

    /// Sends the next 512 KiB of a file to a node, and schedules the rest.
    static func sendSome(_ s: Sending, _ context: Context) throws {
        guard let row = try context.sql.first("SELECT size, mime FROM attachments WHERE sha256 = ?", [.text(s.sha256)]),
              let sent = try context.sql.first("SELECT next_offset FROM attachment_sent WHERE sha256 = ? AND node = ? AND conversation_id = ?",
                                               [.text(s.sha256), .text(s.node), .text(s.conversationId)]) else { return }
        let size = row.int(0) ?? 0
        var offset = sent.int(0) ?? 0
        for _ in 0..<16 where offset < size {
            let piece = try piece(s.sha256, at: offset, length: peerPiece, context)
            guard !piece.isEmpty else { break }
            try context.net.send(to: s.node, PeerMessage(attachment: AttachmentPut(conversationId: s.conversationId, sha256: s.sha256, size: size,
                                                                                    mime: row.text(1) ?? "", offset: offset, data: Base64URL.encode(piece))))
            offset += piece.count
        }
        try context.sql.exec("UPDATE attachment_sent SET next_offset = ? WHERE sha256 = ? AND node = ? AND conversation_id = ?",
                             [.integer(Int64(offset)), .text(s.sha256), .text(s.node), .text(s.conversationId)])
        if offset < size { try s.schedule(context) }
    }

    /// A piece from `peer`: kept only for a conversation kept here in which a member lives on `peer`.
    static func received(_ c: AttachmentPut, from peer: String, _ context: Context) throws {
        try Envelope.conversationID(c.conversationId, "conversation_id")
        guard try context.sql.first("SELECT 1 FROM members WHERE conversation_id = ? AND home = ? AND left_ord IS NULL LIMIT 1",
                                    [.text(c.conversationId), .text(peer)]) != nil else {
            throw AppError.forbidden("no member of \(c.conversationId) lives on \(peer)")
        }
        _ = try receive(c.conversationId, sha256: c.sha256, size: c.size, mime: c.mime, offset: c.offset, data: c.data, from: "node:" + peer,
                        maxPiece: peerPiece, limit: maxUnfinishedPerPeer, by: peer, context)
    }
}
