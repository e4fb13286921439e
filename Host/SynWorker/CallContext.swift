import PluginABI
import SynAppStore
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// The `syn_ctx` behind every call: the call's arena, its last error and its link to the host.
///
/// One instance is reused for every call and reset when the call returns, so a call allocates nothing up front.
final class CallContext {
    let link: FrameLink
    let arenaLimit: Int
    var requestID: UInt64 = 0
    var lastError: [UInt8]? = nil
    /// The app that made the current call through `app_call` (empty for a client's call, an event or a timer).
    var origin: [UInt8] = []
    /// Whether the app's grant covers client notices (`WorkerSetup.clientNotices`); without it, `msg_publish` on a
    /// `client.` topic goes to the host, which refuses it naming the key.
    var clientNotices = false
    /// A library being installed is only probed: its magic was checked at load; its `init` never runs.
    var probe = false
    /// The client notices the current call queued, handed over after its commit; their payload bytes.
    var notices = ClientNotices()
    var noticeBytes = 0
    /// Who has a stream of this app open, as the host said at the call's first notice (their keys as hex); nil
    /// until asked. Notices for anyone else are dropped here, costing nothing more.
    var listeners: Set<[UInt8]>?
    /// The app's database, when it has a storage grant; the call's transaction lives here.
    let store: AppStore?
    /// The store behind `kv_*` when `storage.kv` is granted, and behind `sql_*` when `storage.sql` is.
    let kvStore: AppStore?
    let sqlStore: AppStore?
    /// Calls the host pipelined behind the current one, read while waiting for a host call's answer; served next.
    private var stashed: [Frame] = []
    private var stashedHead = 0
    /// More than the host ever pipelines (`AppSupervisor.maxPipelinedCalls`).
    static let maxStashed = 64
    private var chunks: [(base: UnsafeMutableRawPointer, size: Int)] = []
    private var used = 0
    private var total = 0
    private static let chunkSize = 64 * 1024

    /// The largest message the host accepts on the link.
    let maxMessage: Int

    init(link: FrameLink, arenaLimit: Int, maxMessage: Int, store: AppStore? = nil, kv: Bool = false, sql: Bool = false) {
        self.link = link
        self.maxMessage = maxMessage
        self.arenaLimit = arenaLimit
        self.store = store
        self.kvStore = kv ? store : nil
        self.sqlStore = sql ? store : nil
    }

    /// The opaque pointer the app sees.
    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ ctx: OpaquePointer?) -> CallContext? {
        guard let ctx else { return nil }
        return Unmanaged<CallContext>.fromOpaque(UnsafeRawPointer(ctx)).takeUnretainedValue()
    }

    /// Allocates `n` bytes, 16-byte aligned, valid until `reset`. Nil past the arena limit.
    func alloc(_ n: Int) -> UnsafeMutableRawPointer? {
        // `size_t` arrives as `Int`: (size_t)-1 is -1 here. Anything negative or past the arena is NULL.
        guard n >= 0, n <= arenaLimit else { return nil }
        let size = (max(n, 1) + 15) & ~15
        if let last = chunks.last, used + size <= last.size {
            defer { used += size }
            return last.base + used
        }
        let chunk = max(size, Self.chunkSize)
        guard total + chunk <= arenaLimit, let base = malloc(chunk) else { return nil }
        chunks.append((base, chunk))
        total += chunk
        used = size
        return base
    }

    /// Copies bytes into the arena.
    func copy(_ bytes: [UInt8]) -> UnsafeMutableRawPointer? {
        guard let p = alloc(bytes.count) else { return nil }
        bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: bytes.count) } }
        return p
    }

    func fail(_ status: Int32, _ message: String) -> Int32 {
        lastError = Array(message.utf8)
        return status
    }

    /// Frees the arena (keeping the first chunk for the next call) and clears the last error.
    func reset() {
        while chunks.count > 1 { free(chunks.removeLast().base) }
        total = chunks.first?.size ?? 0
        used = 0
        lastError = nil
        origin = []
        if !notices.notices.isEmpty { notices.notices.removeAll(keepingCapacity: true) }
        noticeBytes = 0
        listeners = nil
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Asks the host, once a call, who has a stream of this app open; a failing status, or nil.
    func loadListeners() -> Int32? {
        var people = Set<[UInt8]>()
        let status = forward(.listeners, WireWriter()) { r throws(WireError) in
            let count = Int(try r.u32())
            guard count <= ClientNotices.maxListeners else { throw WireError(.badPayload, "too many listeners") }
            for _ in 0..<count {
                var hex: [UInt8] = []
                hex.reserveCapacity(64)
                for _ in 0..<32 {
                    let byte = try r.u8()
                    hex.append(Self.hexDigits[Int(byte >> 4)])
                    hex.append(Self.hexDigits[Int(byte & 15)])
                }
                people.insert(hex)
            }
        }
        guard status == SYN_OK else { return status }
        listeners = people
        return nil
    }

    /// Queues a client notice for the call's commit, or drops it when its person has no stream of the app open (the
    /// host names who has, once a call); a status and `last_error` past the call's limits.
    func queueNotice(topic: [UInt8], payload: [UInt8]) -> Int32 {
        let digits = topic.dropFirst(ClientNotices.prefix.utf8.count)
        guard digits.count == 64, digits.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            return fail(SYN_E_BAD_ARG, "msg_publish: a client notice's topic is \"client.\" then the person's public key as 64 lowercase hex digits")
        }
        guard payload.count <= 64 << 10 else { return fail(SYN_E_TOO_LARGE, "msg_publish: the payload is at most 64 KiB") }
        if listeners == nil, let status = loadListeners() { return status }
        // Nobody with that key has a stream open: nothing to send.
        guard listeners?.contains(Array(digits)) == true else { return SYN_OK }
        guard String(validating: payload, as: UTF8.self) != nil else {
            return fail(SYN_E_BAD_ARG, "msg_publish: a client notice's payload is UTF-8 text (a stream carries it as lines)")
        }
        guard notices.notices.count < ClientNotices.maxCount else {
            return fail(SYN_E_QUOTA, "msg_publish: a call queues at most \(ClientNotices.maxCount) client notices")
        }
        let bytes = noticeBytes + payload.count
        let frameBytes = bytes + (notices.notices.count + 1) * ClientNotices.perNoticeOverhead + 64
        guard bytes <= ClientNotices.maxBytes, frameBytes <= maxMessage else {
            return fail(SYN_E_QUOTA, "msg_publish: a call's client notices hold at most \(min(ClientNotices.maxBytes, maxMessage - 4096)) bytes")
        }
        notices.notices.append((topic, payload))
        noticeBytes = bytes
        return SYN_OK
    }

    /// Keeps a pipelined call for later; false past `maxStashed` (the host broke the protocol).
    func stash(_ frame: Frame) -> Bool {
        guard stashed.count - stashedHead < Self.maxStashed else { return false }
        stashed.append(frame)
        return true
    }

    /// The oldest stashed call, if any.
    func takeStashed() -> Frame? {
        guard stashedHead < stashed.count else { return nil }
        defer {
            stashedHead += 1
            if stashedHead == stashed.count {
                stashed.removeAll(keepingCapacity: true)
                stashedHead = 0
            }
        }
        return stashed[stashedHead]
    }
}
