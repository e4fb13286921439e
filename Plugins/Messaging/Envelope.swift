import FoundationEssentials
import SynAppKit

/// A message as its author signed it. Every change to a conversation (its creation, a text, a structured document,
/// a member added or removed, a new title) is one envelope, and a conversation is the log of its envelopes in
/// `ord` order, which every node computes the same way: the hybrid logical clock, then the author, then the
/// author's sequence number.
struct Envelope: Codable, Sendable, Equatable {
    var conversationId: String
    /// The author's key id (unpadded base64url of the ed25519 public key).
    var author: String
    /// The author's sequence number in this conversation: 1, 2, 3, ... with no gaps.
    var seq: Int64
    /// Hybrid logical clock: milliseconds since the Unix epoch × 1000 + a counter (0 to 999); each of an author's
    /// envelopes in a conversation has a larger one than the last.
    var hlc: Int64
    /// create, text, structured, member_add, member_remove, admin_add, leave, rename, edit or delete.
    var kind: String
    /// The content, exactly as signed: the text, or a JSON document as text.
    var body: String
    /// Unpadded base64url of the 64-byte ed25519 signature over `signedBytes`, in Messaging's domain.
    var signature: String
    /// Where it sits in its conversation (`position`), as the node answers it: a history cursor and a read
    /// position. Not signed; ignored in what clients post.
    var ord: String? = nil
    /// In answers only, for a text: its text as its author last edited it, or true once they deleted it (the body
    /// is then empty: only the deletion's own envelope still verifies).
    var editedText: String? = nil
    var deleted: Bool? = nil

    static let kinds: Set<String> = ["create", "text", "structured", "member_add", "member_remove", "admin_add", "leave", "rename",
                                     "edit", "delete"]
    static let structuredTypes: Set<String> = ["booking_request", "quote", "order_action", "order_update", "record_grant", "location",
                                               "attachment"]
    static let maxBody = 16 * 1024

    /// The bytes the author signs (in the `messaging` app's signature domain, docs/messaging.md): every field
    /// but the signature, one per line, the body last and whole, so no two envelopes share them.
    var signedBytes: [UInt8] {
        Array("syneroym-message-v1\n\(conversationId)\n\(author)\n\(seq)\n\(hlc)\n\(kind)\n".utf8) + Array(body.utf8)
    }

    /// The position in its conversation: fixed-width, so text order is log order.
    var position: String {
        let h = String(hlc), s = String(seq)
        return String(repeating: "0", count: max(0, 19 - h.count)) + h + ":" + author + ":"
            + String(repeating: "0", count: max(0, 19 - s.count)) + s
    }

    /// Checks the shape of every field (400 naming it) and the signature (403), before anything is read. An
    /// envelope relayed from a peer (`remote`) may carry any clock: its author's node judged it when it was posted.
    func check(_ context: Context, remote: Bool = false) throws {
        try Self.conversationID(conversationId, "conversation_id")
        guard let key = CallerKey(author), key.id == author else {
            throw AppError.badRequest("author is a key id (43 characters of unpadded base64url)", code: "invalid_field")
        }
        guard seq >= 1 else { throw AppError.badRequest("seq starts at 1", code: "invalid_field") }
        let nowMs = context.nowMs
        guard hlc >= 1, remote || hlc / 1000 <= nowMs + 60_000 else {
            throw AppError.badRequest("hlc is milliseconds × 1000 + a counter, at most a minute ahead of the node's clock", code: "invalid_field")
        }
        guard Self.kinds.contains(kind) else {
            throw AppError.badRequest("kind must be one of \(Self.kinds.sorted().joined(separator: ", "))", code: "invalid_field")
        }
        guard body.utf8.count <= Self.maxBody else { throw AppError.badRequest("body is at most 16 KiB", code: "too_large") }
        guard let signatureBytes = Base64URL.decode(signature), signatureBytes.count == 64 else {
            throw AppError.badRequest("signature is 64 bytes in unpadded base64url", code: "invalid_field")
        }
        guard context.identity.verify(publicKey: key.bytes, message: signedBytes, signature: signatureBytes) else {
            throw AppError.forbidden("the signature is not \(author)'s over this envelope (docs/messaging.md says what is signed)")
        }
    }

    /// A conversation id: 1 to 100 characters of [A-Za-z0-9._-].
    static func conversationID(_ id: String, _ field: String) throws(AppError) {
        let ok = (1...100).contains(id.utf8.count) && id.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
        }
        guard ok else { throw AppError.badRequest("\(field) is 1 to 100 characters of [A-Za-z0-9._-]", code: "invalid_field") }
    }

    /// The id of the direct conversation between two people: the same whoever creates it.
    static func directID(_ a: String, _ b: String) -> String {
        let (x, y) = a < b ? (a, b) : (b, a)
        return "d." + x + "." + y
    }
}
