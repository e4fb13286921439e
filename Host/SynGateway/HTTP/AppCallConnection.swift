import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// What one gateway connection is doing, as a value: `AppCallHandler` reports each event (a request part read, an
/// answer written, the client's half-close, a shutdown, the idle timer) and does what the answer says. Nothing
/// here touches the channel, so every path is testable without a socket.
///
/// Responses leave in request order. An app call waits while the router still owes responses on the connection,
/// and any request waits while an app call is served. Waiting parts are held, and the connection is not read
/// further until they have gone, nor while its answers wait to be sent, so a pipelining client cannot grow the
/// backlog either way.
struct AppCallConnection {
    /// The app call being read or served.
    struct Call {
        let number: UInt64
        let request: HTTPRequest
        let app: String
        let method: String
        let id: String
        let start: ContinuousClock.Instant
        var body: [UInt8] = []
        /// Its end has been read and the call handed to the app.
        var served = false
    }

    /// What the router would act on at once, held while an app call is in progress or requests wait: a parse error
    /// (the router answers 400 and closes) and the client's half-close (the router closes once its requests are
    /// answered, not knowing of ours).
    enum Signal {
        case error(any Error)
        case event(Any)
    }

    /// What to do with a request part now.
    enum Step: Equatable {
        /// It must wait (it is held).
        case hold
        /// Nothing more is served on this connection: drop it.
        case drop
        /// The router's: pass it on.
        case route
        /// A shutdown is under way and this would start a new call: close now.
        case closeNow
        /// An app call starts: make it with `begin`.
        case begin(app: String, method: String)
        /// A part of the app call's body.
        case body
        /// The app call's request is whole: serve it.
        case serve
    }

    /// What the idle timer should do.
    enum Idle: Equatable {
        /// An answer is owed: the answer reschedules the check.
        case waitForAnswer
        case checkAgain(in: TimeAmount)
        case close
    }

    let idleTimeout: TimeAmount
    private(set) var call: Call?
    private var calls: UInt64 = 0
    /// Requests passed to the router whose responses are not written yet.
    private(set) var routed = 0
    private(set) var held = CircularBuffer<HTTPRequestPart>()
    private(set) var signals: [Signal] = []
    /// A `read` held back while parts wait or the outbound buffer is full.
    private var readPending = false
    /// Set by a 413, `Connection: close` or a shutdown: nothing more is served (what arrives is discarded), and the
    /// connection closes once the answer is written.
    private(set) var closing = false
    /// The client has closed its sending side.
    private(set) var inputEnded = false
    /// A routed request asked for `Connection: close`: the router closes after answering it.
    private var lastRoutedRequest = false
    /// Set by a graceful shutdown: the connection closes once what is in progress is answered.
    private(set) var quiescing = false
    /// Whether a request's head has been read and not yet its end.
    private var reading = false
    private var lastActivity: NIODeadline

    init(idleTimeout: TimeAmount, now: NIODeadline) {
        self.idleTimeout = idleTimeout
        lastActivity = now
    }

    // MARK: - Reading

    /// A part arrived: whether to handle it now (`step`) or not at all (closing). Parts behind held ones are held.
    mutating func arrived(_ part: HTTPRequestPart, now: NIODeadline) -> Bool {
        guard !closing else { return false }
        lastActivity = now
        reading = if case .end = part { false } else { true }
        guard held.isEmpty else {
            held.append(part)
            return false
        }
        return true
    }

    /// What to do with `part`, which is next in line. `isAppCall` names the app and method a head calls.
    mutating func step(_ part: HTTPRequestPart, isAppCall: (HTTPRequest) -> (app: String, method: String)?) -> Step {
        switch part {
        case .head(let request):
            if lastRoutedRequest {
                closing = true
                return .drop
            }
            guard call == nil else { return .hold }
            guard let target = isAppCall(request) else {
                routed += 1
                if request.headerFields[.connection] == "close" { lastRoutedRequest = true }
                return .route
            }
            guard routed == 0 else { return .hold }
            if quiescing {
                // The router's requests are answered and the shutdown is under way: no new call starts.
                closing = true
                return .closeNow
            }
            return .begin(app: target.app, method: target.method)
        case .body:
            return call == nil ? .route : .body
        case .end:
            return call == nil ? .route : .serve
        }
    }

    /// Holds `part` at the front (it could not be taken yet) or the back.
    mutating func hold(_ part: HTTPRequestPart, first: Bool) {
        if first { held.prepend(part) } else { held.append(part) }
    }

    /// The next held part, unless the connection is closing.
    mutating func nextHeld() -> HTTPRequestPart? { closing ? nil : held.popFirst() }

    /// Starts an app call; returns its number, for its answer.
    mutating func begin(_ request: HTTPRequest, app: String, method: String, id: String, start: ContinuousClock.Instant) -> UInt64 {
        calls += 1
        call = Call(number: calls, request: request, app: app, method: method, id: id, start: start)
        return calls
    }

    /// Appends to the call's body; false when it would pass `limit` (answer 413).
    mutating func append(_ buffer: ByteBuffer, limit: Int) -> Bool {
        guard var current = call else { return false }
        guard current.body.count + buffer.readableBytes <= limit else { return false }
        call = nil // no copy while appending
        current.body.append(contentsOf: buffer.readableBytesView)
        call = current
        return true
    }

    /// Reserves room for a declared body (at most 64 KiB before the bytes arrive: a length is only a claim).
    mutating func reserve(_ declared: Int) {
        call?.body.reserveCapacity(min(declared, 65536))
    }

    /// The call's request is whole and handed to the app.
    mutating func served() { call?.served = true }

    /// Nothing more is served; the connection closes after the answer in progress.
    mutating func close() {
        closing = true
        held.removeAll()
        signals.removeAll()
    }

    // MARK: - Answers

    /// The app call numbered `number` is answered: the call, and whether the connection closes after it; nil when
    /// it was answered already (a timeout came first) or abandoned.
    mutating func answer(_ number: UInt64, now: NIODeadline) -> (call: Call, close: Bool)? {
        guard let current = call, current.number == number else { return nil }
        call = nil
        lastActivity = now
        let close = closing || quiescing || current.request.headerFields[.connection] == "close"
        if close { self.close() }
        return (current, close)
    }

    /// The router wrote a response's end: whether held parts or signals can go now.
    mutating func routedAnswered(now: NIODeadline) -> Bool {
        lastActivity = now
        // Never below zero: the router also answers what never reached it as a request (a parse error's 400).
        routed = max(routed - 1, 0)
        return routed == 0 && (!held.isEmpty || !signals.isEmpty)
    }

    /// After held parts were taken: the signals the router may have now (none while an app call is in progress).
    mutating func releasableSignals() -> [Signal] {
        guard held.isEmpty && !signals.isEmpty else { return [] }
        abandonIncomplete()
        guard call == nil else { return [] }
        defer { signals = [] }
        return signals
    }

    /// The input ended (a half-close or an error) in the middle of an app call's request: it can never be served,
    /// so no answer is owed for it.
    private mutating func abandonIncomplete() {
        if let call, !call.served { self.call = nil }
    }

    // MARK: - Signals

    /// What to do with a signal: true to pass it on now, false when it is held (or dropped, past a few).
    mutating func signal(_ signal: Signal) -> Bool {
        if held.isEmpty { abandonIncomplete() }
        if held.isEmpty && call == nil && signals.isEmpty { return true }
        // At most a few are kept: an error or a half-close ends the input, so little follows it.
        if signals.count < 4 { signals.append(signal) }
        return false
    }

    /// The client closed its side: true when the connection should close now (it was closing anyway).
    mutating func inputClosed() -> Bool {
        inputEnded = true
        return closing
    }

    /// A graceful shutdown: true to pass the event on now (no app call in progress; the router's connection
    /// handler then closes once its requests are answered). With a call in progress, its answer closes.
    mutating func quiesce() -> Bool {
        quiescing = true
        return call == nil
    }

    // MARK: - Flow control and idleness

    /// Whether to read more: only when no part waits and the outbound buffer has room (closing, the client's bytes
    /// are read and dropped until it closes its side). Otherwise the read is remembered for `resume`.
    mutating func mayRead(writable: Bool) -> Bool {
        if closing || (held.isEmpty && writable) { return true }
        readPending = true
        return false
    }

    /// Whether a remembered read can go now.
    mutating func resume(writable: Bool) -> Bool {
        guard readPending && (closing || (held.isEmpty && writable)) else { return false }
        readPending = false
        return true
    }

    /// A connection quiet for `idleTimeout` closes, unless it waits for an answer: to a request read whole, or to
    /// one ahead of requests held behind it. A client that stalls halfway through sending a request is closed.
    func idle(now: NIODeadline) -> Idle {
        if !closing && (!held.isEmpty || (!reading && (call != nil || routed > 0))) { return .waitForAnswer }
        let quietUntil = lastActivity + idleTimeout
        return now < quietUntil ? .checkAgain(in: quietUntil - now) : .close
    }

    mutating func active(now: NIODeadline) { lastActivity = now }
}
