import FoundationEssentials
import SynAppKit
import SynSpaces

/// A HomeServices quote's event (`homeservices.quote.*`), and what `quotes.parties` takes.
struct QuoteRef: Codable, Sendable { var quoteId: String }


/// An `order_action` document: a call a party asks Messaging to make for them, with their signature over exactly
/// that call (docs/abi.md §8: node, `messaging`, app, method, body).
struct OrderAction: Decodable, Sendable {
    var type: String
    var app: String
    var method: String
    var body: String
    var onBehalf: OnBehalf
}

/// A signed call as `syneroym sign call` prints it (`["key", created, "nonce", "signature"]`) or as an object.
struct OnBehalf: Decodable, Sendable {
    let call: SignedCall

    init(from decoder: any Decoder) throws {
        if let object = try? SignedCall(from: decoder) { call = object; return }
        var array = try decoder.unkeyedContainer()
        call = SignedCall(key: try array.decode(String.self), created: try array.decode(Int64.self),
                          nonce: try array.decode(String.self), signature: try array.decode(String.self))
    }
}

/// Threads on orders: a conversation pivoted on a HomeServices job or a HomeServices or FoodMesh order, opened by
/// Messaging itself, with the parties the pivot app names as members (a job's consumer and the managers who quote
/// it; an order's customer and the managers of the Space or store serving it). Quotes and each step of an order
/// are posted there as structured messages signed by Messaging's own key. A party's `order_action` in the thread
/// is carried out through `app_call` on that party's behalf, with their signature, and the result posted back.
enum OrderThreads {
    static let actions: Set<String> = ["homeservices:quotes.accept", "homeservices:orders.transition", "foodmesh:orders.transition"]
    /// The apps whose orders get threads.
    static let orderApps = ["homeservices", "foodmesh"]

    /// The thread's id for a HomeServices job.
    static func threadID(job: String) -> String { "t.homeservices.job." + job }

    /// The thread's id for an order of `app`.
    static func threadID(app: String, order: String) -> String { "t.\(app).order.\(order)" }

    /// An order of `app` was made or moved on (`<app>.order.<transition>`): its thread (made if need be, with
    /// managers who joined the Space since added) shows the step. An order the app no longer knows, or a call
    /// the node owner did not grant, is skipped (logged) rather than retried forever.
    static func orderChanged(app: String, _ event: OrderEvent, _ context: Context) throws {
        let reply = try context.apps.call(app, "orders.parties", body: Array(try json(["order_id": event.id]).utf8))
        guard (200..<300).contains(reply.status) else {
            guard reply.status < 500 else { throw AppError(status: 503, code: "pivot_unavailable", "\(app) answered \(reply.status) for orders.parties") }
            context.log(.warn, "no thread for \(app) order \(event.id): \(app) answered \(reply.status)")
            return
        }
        let parties = try reply.decode(OrderParties.self)
        let thread = threadID(app: app, order: parties.orderId)
        var members: [String] = []
        for key in [parties.customer] + parties.managers where CallerKey(key)?.id == key && !members.contains(key) { members.append(key) }
        guard !members.isEmpty else { return }
        if try Conversations.kind(thread, context) == nil {
            try post(thread, "create", json(CreateBody(kind: "group", title: parties.title,
                                                       members: Array(members.prefix(Messages.maxGroupMembers - 1)), homes: nil)), context)
        } else {
            for member in members where try Conversations.pastRole(member, thread, context) == nil {
                try post(thread, "member_add", json(MemberBody(member: member, home: nil)), context)
            }
        }
        var document = #"{"type":"order_update","app":\#(JSONQuote.quote(app)),"order_id":\#(JSONQuote.quote(parties.orderId)),"event":\#(JSONQuote.quote(event.transition)),"state":\#(JSONQuote.quote(event.to))"#
        if let amount = parties.amount { document += #","amount":\#(amount)"# }
        if let currency = parties.currency { document += #","currency":\#(JSONQuote.quote(currency))"# }
        try post(thread, "structured", document + "}", context)
    }

    /// A quote was made, withdrawn or accepted: its thread (made if need be) shows it.
    static func quoteChanged(_ event: QuoteRef, kind: String, _ context: Context) throws {
        let parties = try context.apps.call("homeservices", "quotes.parties", event, as: QuoteParties.self)
        let thread = threadID(job: parties.jobId)
        if try Conversations.kind(thread, context) == nil {
            try post(thread, "create", json(CreateBody(kind: "group", title: "HomeServices job \(parties.jobId)",
                                                       members: [parties.consumer, parties.author], homes: nil)), context)
        } else if try Conversations.pastRole(parties.author, thread, context) == nil {
            // Another manager of the Space quoted the same job: they join its thread.
            try post(thread, "member_add", json(MemberBody(member: parties.author, home: nil)), context)
        }
        let document = #"{"type":"quote","event":"\#(kind)","app":"homeservices","quote_id":"\#(parties.quoteId)","amount":\#(parties.amount),"currency":\#(JSONQuote.quote(parties.currency)),"state":\#(JSONQuote.quote(parties.state))}"#
        try post(thread, "structured", document, context)
    }

    /// A party's `order_action`, posted in a thread: carried out for them; the answer becomes a message.
    static func perform(_ e: Envelope, _ context: Context) throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let action = try? decoder.decode(OrderAction.self, from: Data(e.body.utf8)), action.type == "order_action" else { return }
        let result: String
        if !actions.contains(action.app + ":" + action.method) {
            result = #"{"type":"order_update","action":\#(JSONQuote.quote(action.method)),"ok":false,"error":"Messaging carries out \#(actions.sorted().joined(separator: ", ")) only"}"#
        } else if action.onBehalf.call.key != e.author {
            result = #"{"type":"order_update","action":\#(JSONQuote.quote(action.method)),"ok":false,"error":"the call is signed by someone other than the message's author"}"#
        } else {
            do {
                let reply = try context.apps.call(action.app, action.method, body: Array(action.body.utf8), for: action.onBehalf.call)
                let ok = (200..<300).contains(reply.status)
                result = #"{"type":"order_update","action":\#(JSONQuote.quote(action.method)),"ok":\#(ok),"status":\#(reply.status),"for":"\#(e.author)"}"#
            } catch {
                result = #"{"type":"order_update","action":\#(JSONQuote.quote(action.method)),"ok":false,"error":\#(JSONQuote.quote(error.message))}"#
            }
        }
        try post(e.conversationId, "structured", result, context)
    }

    /// An envelope by Messaging itself (its own key, its own sequence), applied and sent like any other.
    static func post(_ conversation: String, _ kind: String, _ body: String, _ context: Context) throws {
        let key = try context.identity.publicKey()
        let author = Base64URL.encode(key)
        let last = try context.sql.first("SELECT max(seq), max(hlc) FROM messages WHERE conversation_id = ? AND author = ?",
                                         [.text(conversation), .text(author)])
        var e = Envelope(conversationId: conversation, author: author, seq: Int64(last?.int(0) ?? 0) + 1,
                         hlc: max(Int64(last?.int(1) ?? 0) + 1, context.nowMs * 1000), kind: kind, body: body, signature: "")
        e.signature = Base64URL.encode(try context.identity.sign(e.signedBytes))
        try Messages.postLocal(e, context)
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

