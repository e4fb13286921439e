import FoundationEssentials

/// An input with no fields (an empty body or `{}`).
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

/// A body the handler has already written as JSON (for large lists where `JSONEncoder` would dominate); the SDK
/// sends it as it is, so the handler must produce valid JSON.
public struct RawJSON: Encodable, Sendable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public func encode(to encoder: any Encoder) throws {
        throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "RawJSON is written as it is, not encoded"))
    }
}

/// A handler's answer with a status other than 200 (e.g. 201 Created).
public struct Reply<Body: Encodable>: Sendable where Body: Sendable {
    public let status: Int
    public let body: Body
    public init(status: Int, _ body: Body) {
        self.status = status
        self.body = body
    }
}

/// The app's methods, event handlers and timer handler, registered with Codable types.
public struct Routes: Sendable {
    typealias Handler = @Sendable ([UInt8], Context) throws -> (status: Int, body: [UInt8])
    typealias EventHandler = @Sendable (_ type: String, _ payload: [UInt8], _ eventID: UInt64, Context) throws -> Void

    var methods: [String: Handler] = [:]
    var events: [(pattern: String, handler: EventHandler)] = []
    var timer: (@Sendable ([UInt8], UInt64, Context) throws -> Void)?
    var peer: (@Sendable (_ payload: [UInt8], _ peer: String, Context) throws -> Void)?
    var topics: [(pattern: String, handler: @Sendable (_ topic: String, _ payload: [UInt8], Context) throws -> Void)] = []
    typealias DueHandler = @Sendable (_ payload: [UInt8], _ key: String, Context) throws -> Void
    var due: [String: DueHandler] = [:]

    /// A method: its body is decoded as `In` (400 with the field at fault if it cannot be), its result encoded as
    /// JSON with status 200.
    public mutating func method<In: Decodable & Sendable, Out: Encodable & Sendable>(_ name: String,
                                                              _ handler: @escaping @Sendable (In, Context) throws -> Out) {
        methods[name] = { body, context in
            (200, try Self.encode(try handler(try Self.decode(In.self, body), context)))
        }
    }

    /// A method answering with its own status.
    public mutating func method<In: Decodable & Sendable, Out: Encodable & Sendable>(_ name: String,
                                                              _ handler: @escaping @Sendable (In, Context) throws -> Reply<Out>) {
        methods[name] = { body, context in
            let reply = try handler(try Self.decode(In.self, body), context)
            return (reply.status, try Self.encode(reply.body))
        }
    }

    /// Domain events of `type` (or every type starting with it, when it ends in `*`), with the payload decoded
    /// as `P`. Delivery is at least once: use `eventID` to ignore a repeat.
    public mutating func onEvent<P: Decodable & Sendable>(_ type: String,
                                               _ handler: @escaping @Sendable (_ payload: P, _ eventID: UInt64, Context) throws -> Void) {
        events.append((type, { _, payload, id, context in try handler(try Self.decode(P.self, payload), id, context) }))
    }

    /// Messages from this app on peer nodes (`Net.send`), each once and in order per peer; `peer` is the sending
    /// node's id. The handler's writes and the record that the message was applied commit together. A message
    /// that does not decode as `P`, or that the handler refuses with a 4xx `AppError`, is dropped (logged): sending
    /// it again would not change the answer, and the peer's later messages must not wait behind it. Any other
    /// failure rolls back and the message comes again later.
    public mutating func onPeerMessage<P: Decodable & Sendable>(_ handler: @escaping @Sendable (_ payload: P, _ peer: String, Context) throws -> Void) {
        peer = { payload, peer, context in try handler(try Self.decode(P.self, payload), peer, context) }
    }

    /// Ephemeral messages on topics matching `pattern` (a topic, or a prefix ending in `*`) that the app subscribes
    /// to (`messages.subscribe`), from this node or a peer, with the payload decoded as `P`. Best-effort: one that
    /// does not decode is dropped (logged); nothing is redelivered.
    public mutating func onTopic<P: Decodable & Sendable>(_ pattern: String, _ handler: @escaping @Sendable (_ payload: P, _ topic: String, Context) throws -> Void) {
        topics.append((pattern, { topic, payload, context in try handler(try Self.decode(P.self, payload), topic, context) }))
    }

    /// Work of `kind` scheduled with `Context.schedule` that has come due, its payload decoded as `P`, with its key.
    /// A 4xx `AppError` drops the item (with its writes); any other failure rolls the wake-up back to come again.
    public mutating func onDue<P: Decodable & Sendable>(_ kind: String, _ handler: @escaping @Sendable (_ payload: P, _ key: String, Context) throws -> Void) {
        due[kind] = { payload, key, context in try handler(try Self.decode(P.self, payload), key, context) }
    }

    /// Timers this app set with `Events.setTimer`, their payload decoded as `P`.
    public mutating func onTimer<P: Decodable & Sendable>(_ handler: @escaping @Sendable (_ payload: P, _ token: UInt64, Context) throws -> Void) {
        timer = { payload, token, context in try handler(try Self.decode(P.self, payload), token, context) }
    }

    static func matches(_ pattern: String, _ type: String) -> Bool {
        pattern.hasSuffix("*") ? type.hasPrefix(pattern.dropLast()) : pattern == type
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws(AppError) -> T {
        let bytes = body.isEmpty ? Array("{}".utf8) : body
        do { return try JSONKeys.current.decoder.decode(T.self, from: Data(bytes)) } catch let error as DecodingError {
            throw AppError.badRequest(Self.describe(error), code: "bad_input")
        } catch {
            throw AppError.badRequest("the body is not valid JSON", code: "bad_input")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws(AppError) -> [UInt8] {
        if let raw = value as? RawJSON { return raw.bytes }
        do { return Array(try JSONKeys.current.encoder.encode(value)) } catch {
            throw AppError(status: 500, code: "encode_failed", "the response could not be encoded: \(error)")
        }
    }

    /// A decoding error as a sentence naming the field: `field "slot.start": expected a number`.
    static func describe(_ error: DecodingError) -> String {
        let snake = JSONKeys.current == .snakeCase
        // `rules.weekly[0].day`: names joined by dots, array positions in brackets.
        func path(_ keys: [any CodingKey]) -> String {
            var p = ""
            for key in keys {
                if let index = key.intValue {
                    p += "[\(index)]"
                } else {
                    if !p.isEmpty { p += "." }
                    p += snake ? Self.snakeCased(key.stringValue) : key.stringValue
                }
            }
            return p.isEmpty ? "the body" : "field \"\(p)\""
        }
        switch error {
        case .keyNotFound(let key, let c): return "\(path(c.codingPath + [key])) is required"
        case .typeMismatch(let type, let c): return "\(path(c.codingPath)): expected \(Self.name(type))"
        case .valueNotFound(let type, let c): return "\(path(c.codingPath)): expected \(Self.name(type)), got null"
        case .dataCorrupted(let c):
            return c.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "the body does not match the method's input"
        }
    }

    static func name(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Double.Type, is UInt64.Type, is Int32.Type: "a number"
        case is Bool.Type: "true or false"
        default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }

    /// `startMs` → `start_ms`, as the snake-case strategy writes it.
    static func snakeCased(_ name: String) -> String {
        var out = ""
        for ch in name {
            if ch.isUppercase, !out.isEmpty { out += "_" }
            out += ch.lowercased()
        }
        return out
    }
}
