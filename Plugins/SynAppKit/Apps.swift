public import FoundationEssentials
import PluginABI
import SynText
import Synchronization

extension Context {
    /// Calls to other apps on this node (ABI minor 1), granted by the manifest's `calls` ∩ node.toml.
    public var apps: Apps { Apps(host: host) }
}

/// A person's signature over one call to another app's method, as a client made it: the key, when (Unix seconds),
/// a nonce used once, and the ed25519 signature (docs/abi.md says what is signed). The app passes it on untouched
/// with the exact body the person signed; the node checks it and makes the person the target's caller.
public struct SignedCall: Sendable, Codable, Equatable {
    /// The person's public key, unpadded base64url.
    public var key: String
    public var created: Int64
    public var nonce: String
    /// Unpadded base64url.
    public var signature: String

    public init(key: String, created: Int64, nonce: String, signature: String) {
        self.key = key
        self.created = created
        self.nonce = nonce
        self.signature = signature
    }

    /// `on_behalf` as the host reads it: `["<key>", <created>, "<nonce>", "<signature>"]`.
    var wire: [UInt8] {
        Array("[\(JSONString.quote(key)),\(created),\(JSONString.quote(nonce)),\(JSONString.quote(signature))]".utf8)
    }
}

/// Another app's answer: its HTTP-like status and body.
public struct AppReply: Sendable, Equatable {
    public let status: Int
    public let body: [UInt8]

    /// The body decoded, for a 2xx answer; otherwise the target's error as this app's (`AppError` with the
    /// target's status, code and message).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard (200..<300).contains(status) else {
            let failure = try? JSONDecoder().decode(AppFailureBody.self, from: Data(body))
            throw AppError(status: status, code: failure?.error.code ?? "app_call_failed",
                           failure?.error.message ?? String(decoding: body.prefix(512), as: UTF8.self))
        }
        return try JSONKeys.current.decoder.decode(T.self, from: Data(body))
    }
}

/// An app's error answer, `{"error": {"code", "message"}}`.
struct AppFailureBody: Decodable {
    struct Inner: Decodable { var code: String; var message: String }
    var error: Inner
}

/// Calls another app's method and waits for its answer, within this call's deadline. The target's writes commit
/// on their own: if this call then fails, they stay. Pass an idempotency key in the body when a retry must not act
/// twice.
public struct Apps: Sendable {
    let host: Host

    /// Whether this node offers calls between apps (ABI minor 1).
    public var available: Bool {
        host.table.pointee.minor >= 1
            && Int(host.table.pointee.size) > MemoryLayout<syn_host>.offset(of: \syn_host.node_id) ?? Int.max
    }

    /// Calls `method` of `app` with `body`: as this app, or for `person`, who signed exactly this app, method and
    /// body. A failure to run it at all (not granted, a cycle, a bad signature, the target down) throws `HostError`.
    public func call(_ app: String, _ method: String, body: [UInt8], for person: SignedCall? = nil) throws(HostError) -> AppReply {
        guard available else {
            throw HostError(status: SYN_E_UNSUPPORTED, slot: "app_call", message: "this node's ABI minor is below 1: it runs no calls between apps")
        }
        var status: UInt32 = 0
        var response = syn_buf(ptr: nil, len: 0)
        let result = Host.withBuf(Array(app.utf8)) { a in
            Host.withBuf(Array(method.utf8)) { m in
                Host.withBuf(body) { b in
                    Host.withBuf(person?.wire ?? []) { p in host.table.pointee.app_call(host.ctx, a, m, b, p, &status, &response) }
                }
            }
        }
        try host.check(result, "app_call")
        return AppReply(status: Int(status), body: Host.bytes(response))
    }

    /// Calls `method` of `app` as this app with `input` encoded as JSON, and decodes its 2xx answer.
    public func call<I: Encodable, O: Decodable>(_ app: String, _ method: String, _ input: I, as type: O.Type) throws -> O {
        try call(app, method, body: Array(try JSONKeys.current.encoder.encode(input))).decode(type)
    }

    /// This node's id (its key id), or nil on a node older than minor 1. Asked of the node once per worker: it does
    /// not change while the worker lives.
    public var nodeID: String? {
        if let known = Self.knownNodeID.withLock({ $0 }) { return known }
        guard available else { return nil }
        var id = syn_buf(ptr: nil, len: 0)
        guard host.table.pointee.node_id(host.ctx, &id) == SYN_OK else { return nil }
        let text = String(decoding: Host.bytes(id), as: UTF8.self)
        Self.knownNodeID.withLock { $0 = text }
        return text
    }
    private static let knownNodeID = Mutex<String?>(nil)

    /// The app that made this call through `app_call`, or nil for a client's call, an event or a timer.
    public var origin: String? {
        guard available else { return nil }
        var app = syn_buf(ptr: nil, len: 0)
        guard host.table.pointee.call_origin(host.ctx, &app) == SYN_OK else { return nil }
        return String(decoding: Host.bytes(app), as: UTF8.self)
    }
}
