import FoundationEssentials
import SynAppKit

/// A test app written with SynAppKit: typed methods, KV and SQL with migrations, identity, events and timers.

struct Note: Codable, Sendable {
    var title: String
    var stars: Int
}

struct Saved: Codable, Sendable {
    var id: String
    var version: UInt64?
}

struct ByID: Codable, Sendable {
    var id: String
}

struct Signed: Codable, Sendable {
    var message: String
    var signature: String
    var publicKey: String
}

struct Later: Codable, Sendable {
    var delayMs: UInt64
    var note: String
}

struct NewOrder: Codable, Sendable {
    var id: String
    var provider: String
    var expireMs: UInt64?
}

struct Take: Codable, Sendable {
    var id: String
    var transition: String
}

struct OrderView: Codable, Sendable {
    var state: String
    var history: [WorkflowStep]
}

/// requested → confirmed → completed; the consumer may cancel before completion; unconfirmed orders expire.
let order = Workflow("order", initial: "requested", transitions: [
    .init("confirm", from: ["requested"], to: "confirmed", by: .provider),
    .init("complete", from: ["confirmed"], to: "completed", by: .provider),
    .init("cancel", from: ["requested", "confirmed"], to: "cancelled", by: .consumer),
    // Only orders created with expire_ms expire (so other tests never race a timer).
    .init("expire", from: ["requested"], to: "expired", by: .system, delay: { instance in
        (try? JSONDecoder().decode(NewOrder.self, from: Data(instance.data)))?.expireMs.map { .milliseconds($0) }
    }),
    .init("note", from: ["confirmed"], to: "confirmed", by: .party, guard: { instance, _ in
        if instance.updatedMs == 0 { throw AppError.conflict("never") }
    }),
])

struct AppCallInput: Codable, Sendable {
    var app: String
    var method: String
    var body: String
    var onBehalf: String?
}

struct AppCallOutput: Codable, Sendable {
    var status: Int
    var body: String
    var failure: String?
}

struct Origin: Codable, Sendable {
    var origin: String?
    var caller: String?
    var available: Bool
}

/// A JSON string or integer (a signed call's parts).
enum AnyScalar: Decodable {
    case text(String), number(Int64)
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) { self = .number(n) } else { self = .text(try c.decode(String.self)) }
    }
}

let app = SynApp(id: "kit", version: "1.0.0", migrations: [
    """
    CREATE TABLE notes (id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, stars INTEGER NOT NULL);
    CREATE INDEX notes_owner ON notes(owner);
    """,
    "ALTER TABLE notes ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0;",
], workflows: [order]) { routes in
    routes.method("notes.add") { (note: Note, context) -> Reply<Saved> in
        let caller = try context.requireCaller()
        guard !note.title.isEmpty else { throw AppError.badRequest("title must not be empty", code: "bad_title") }
        guard (0...5).contains(note.stars) else { throw AppError.badRequest("stars must be 0 to 5") }
        let id = context.newID()
        try context.sql.exec("INSERT INTO notes(id, owner, title, stars, created_ms) VALUES (?, ?, ?, ?, ?)",
                             [.text(id), .text(caller.id), .text(note.title), SQLValue(note.stars), .integer(context.nowMs)])
        try context.events.emit("kit.note.added", ByID(id: id))
        return Reply(status: 201, Saved(id: id, version: nil))
    }
    routes.method("notes.add_then_refuse") { (note: Note, context) -> Saved in
        // Writes, emits, then refuses with a 4xx: the SDK must leave no trace.
        let caller = try context.requireCaller()
        try context.sql.exec("INSERT INTO notes(id, owner, title, stars) VALUES (?, ?, ?, ?)",
                             [.text(context.newID()), .text(caller.id), .text(note.title), SQLValue(note.stars)])
        try context.kv.put("note:" + note.title, json: note)
        try context.events.emit("kit.note.added", ByID(id: "refused"))
        throw AppError.conflict("changed my mind")
    }
    routes.method("notes.mine") { (_: Empty, context) -> [Note] in
        let caller = try context.requireCaller()
        return try context.sql.query("SELECT title, stars FROM notes WHERE owner = ? ORDER BY created_ms, id", [.text(caller.id)])
            .map { Note(title: $0.text(0) ?? "", stars: $0.int(1) ?? 0) }
    }
    routes.method("kv.put") { (note: Note, context) -> Saved in
        let version = try context.kv.put("note:" + note.title, json: note, ifVersion: nil)
        return Saved(id: note.title, version: version)
    }
    routes.method("kv.get") { (key: ByID, context) -> Note in
        guard let (note, _) = try context.kv.get("note:" + key.id, as: Note.self) else {
            throw AppError.notFound("no note \(key.id)")
        }
        return note
    }
    routes.method("sign") { (input: ByID, context) -> Signed in
        let message = Array(input.id.utf8)
        let signature = try context.identity.sign(message)
        let key = try context.identity.publicKey()
        guard context.identity.verify(publicKey: key, message: message, signature: signature) else {
            throw AppError(status: 500, code: "verify_failed", "own signature did not verify")
        }
        return Signed(message: input.id, signature: Hex.encode(signature), publicKey: Hex.encode(key))
    }
    routes.method("later") { (input: Later, context) -> Saved in
        try context.events.setTimer(afterMs: input.delayMs, input)
        return Saved(id: input.note, version: nil)
    }
    routes.method("later_then_fail") { (input: Later, context) -> Saved in
        try context.events.setTimer(afterMs: input.delayMs, input)
        try context.events.emit("kit.never", input)
        throw AppError.conflict("changed my mind")
    }
    routes.method("fired") { (_: Empty, context) -> [String] in
        try context.kv.scan(prefix: "fired:").entries.map { String(decoding: $0.entry.value, as: UTF8.self) }
    }
    routes.method("order.create") { (input: NewOrder, context) -> Reply<OrderView> in
        let consumer = try context.requireCaller()
        guard let provider = CallerKey(input.provider) else { throw AppError.badRequest("provider must be a key id") }
        let instance = try context.workflow(order).create(id: input.id, consumer: consumer, provider: provider, data: input,
                                                          by: consumer)
        return Reply(status: 201, OrderView(state: instance.state, history: try context.workflow(order).history(input.id)))
    }
    routes.method("order.take") { (input: Take, context) -> OrderView in
        let instance = try context.workflow(order).take(input.transition, on: input.id, by: context.caller)
        return OrderView(state: instance.state, history: try context.workflow(order).history(input.id))
    }
    routes.method("order.get") { (input: ByID, context) -> OrderView in
        guard let instance = try context.workflow(order).get(input.id) else { throw AppError.notFound("no order \(input.id)") }
        return OrderView(state: instance.state, history: try context.workflow(order).history(input.id))
    }
    // Calls between apps through SynAppKit's wrapper: another app's method, as this app or for a signed person.
    routes.method("apps.call") { (input: AppCallInput, context) -> AppCallOutput in
        let signed = try input.onBehalf.map { text -> SignedCall in
            let parts = try JSONDecoder().decode([AnyScalar].self, from: Data(text.utf8))
            guard parts.count == 4, case .text(let key) = parts[0], case .number(let created) = parts[1],
                  case .text(let nonce) = parts[2], case .text(let signature) = parts[3] else { throw AppError.badRequest("on_behalf") }
            return SignedCall(key: key, created: created, nonce: nonce, signature: signature)
        }
        do {
            let reply = try context.apps.call(input.app, input.method, body: Array(input.body.utf8), for: signed)
            return AppCallOutput(status: reply.status, body: String(decoding: reply.body, as: UTF8.self), failure: nil)
        } catch let error as HostError {
            return AppCallOutput(status: 0, body: "", failure: error.message)
        }
    }
    routes.method("apps.origin") { (_: Empty, context) -> Origin in
        Origin(origin: context.apps.origin, caller: context.caller?.id, available: context.apps.available)
    }
    routes.onTimer { (later: Later, token, context) in
        try context.kv.put("fired:\(token)", Array(later.note.utf8))
    }
}

@_cdecl("synapp_magic") public func synappMagic() -> UnsafeRawPointer { app.magic }
@_cdecl("synapp_entry") public func synappEntry(_ host: UnsafeRawPointer?, _ minor: UnsafeMutablePointer<UInt32>?,
                                                _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int32 {
    app.entry(host, minor, out)
}
