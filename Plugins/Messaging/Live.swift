import FoundationEssentials
import SynAppKit

/// What a member's open stream (`GET /v1/apps/messaging/stream`) carries, as JSON with a `type`: each envelope
/// recorded in one of their conversations (`message`), receipts (`read`, `delivered`) and typing notices
/// (`typing`). Notices go to the members who live on this node, once the call commits; a stream that missed some
/// (it was closed, or cut off for falling behind) catches up from `messages.history`.
enum Live {
    struct Notice: Codable, Sendable {
        var type: String
        var conversationId: String
        var envelope: Envelope? = nil
        var member: String? = nil
        var members: [String]? = nil
        var ord: String? = nil
    }

    /// A typing notice between nodes (topic `messaging.typing`): `member` types in `conversation_id`, as their
    /// home node `home` says.
    struct Typing: Codable, Sendable {
        var conversationId: String
        var member: String
        var home: String
    }

    struct TypingInput: Codable, Sendable { var conversationId: String }

    static let typingTopic = "messaging.typing"

    static func register(_ routes: inout Routes) {
        routes.method("typing") { (input: TypingInput, context) -> Empty in
            let caller = try context.requireCaller()
            try Conversations.requireMember(caller.id, input.conversationId, context)
            let here = context.apps.nodeID ?? ""
            try notify(Notice(type: "typing", conversationId: input.conversationId, member: caller.id), in: input.conversationId,
                       except: caller.id, context)
            // Other members' home nodes hear of it on the topic; nothing is stored anywhere.
            let remote = try context.sql.first("""
                SELECT 1 FROM members WHERE conversation_id = ? AND left_ord IS NULL AND home NOT IN (?, '') LIMIT 1
                """, [.text(input.conversationId), .text(here)])
            if remote != nil {
                try context.topics.publish(typingTopic, Typing(conversationId: input.conversationId, member: caller.id, home: here))
            }
            return Empty()
        }
        routes.onTopic(typingTopic) { (t: Typing, _, context) in
            // Only for a conversation kept here, by a current member who lives on the node that says so (any
            // peer could publish on the topic: a typing notice is a hint, never stored).
            try Envelope.conversationID(t.conversationId, "conversation_id")
            let here = context.apps.nodeID ?? ""
            guard t.home != here, try Conversations.role(t.member, t.conversationId, context) != nil,
                  try Conversations.home(t.member, t.conversationId, context) == t.home else { return }
            try notify(Notice(type: "typing", conversationId: t.conversationId, member: t.member), in: t.conversationId,
                       except: t.member, context)
        }
    }

    /// An envelope recorded in its conversation: to its members who live here (and to one it just removed).
    static func recorded(_ e: Envelope, _ context: Context) throws {
        var shown = e
        shown.ord = e.position
        try notify(Notice(type: "message", conversationId: e.conversationId, envelope: shown), in: e.conversationId,
                   alsoLeftAt: e.position, context)
    }

    /// Sends `notice` to the members of `conversation` who live on this node (or whose home is not recorded),
    /// but `except`; best-effort: a member with no stream open gets nothing, and notices past a call's limit are
    /// dropped rather than failing the call.
    static func notify(_ notice: Notice, in conversation: String, except: String? = nil, alsoLeftAt: String? = nil,
                       _ context: Context) throws {
        guard context.topics.anyoneListening else { return }
        let here = context.apps.nodeID ?? ""
        let rows = try context.sql.query("""
            SELECT member FROM members WHERE conversation_id = ? AND (left_ord IS NULL OR left_ord = ?) AND home IN (?, '')
            """, [.text(conversation), .text(alsoLeftAt ?? ""), .text(here)])
        let people = rows.compactMap { row in row.text(0).flatMap { $0 == except ? nil : CallerKey($0) } }
        try? context.topics.notify(people, notice)
    }
}
