import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import SynConfig

/// Serves `POST /v1/apps/{app}/{method}` on the connection's event loop; every other request goes on to the
/// router. It sits in Hummingbird's HTTP/1 pipeline before the connection-state handler, which therefore sees
/// only routed requests: this handler keeps the connection's idle timeout for all of them, and holds a graceful
/// shutdown's quiesce event back until an app call in progress is answered.
///
/// The router runs each request in a task, and an app call would hop from the event loop to that task, to the
/// app's instance thread and back: this handler hands the call to the instance thread straight from the event
/// loop, and the reply comes back to it. The gateway's rules are the router's: the request id, the body limit,
/// signatures, the JSON errors, the metrics and the log lines are shared with it (`AppCalls`,
/// `RequestIDMiddleware`).
///
/// The checks before a call run on the event loop, as the call's hand-off does: a signature costs about 55 µs (one
/// ed25519 verify and the body's SHA-256), and a body's hashing and scanning grow with it (up to a few milliseconds
/// at the default 1 MiB `max_body_kb`), for which the loop's other connections wait.
///
/// Responses leave in request order: an app call waits while the router still owes responses on the connection,
/// and any request waits while an app call is served. Waiting parts are held, and the connection is not read
/// further until they have gone, nor while its answers wait to be sent, so a pipelining client cannot grow the
/// backlog either way.
final class AppCallHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let calls: AppCalls
    private let logger: Logger
    private let maxBody: Int
    /// The app call being read or served.
    private var current: Current?
    /// Requests passed to the router whose responses are not written yet.
    private var routed = 0
    private var held = CircularBuffer<HTTPRequestPart>()
    /// What the router would act on at once, held while an app call is in progress or requests wait: a parse
    /// error (the router answers 400 and closes) and the client's half-close (the router closes once its
    /// requests are answered, not knowing of ours).
    private var heldSignals: [HeldSignal] = []
    /// A `read` held back while parts wait or the connection's outbound buffer is full.
    private var readPending = false
    /// Set by a 413, `Connection: close` or a shutdown: nothing more is served (what arrives is discarded), and
    /// the connection closes once the answer is written: first its sending side, then, once the client has
    /// closed its own (or after `linger`), the rest. Closing at once with the client's bytes unread would reset
    /// the connection, and the client could lose the answer.
    private var closing = false
    /// The client has closed its sending side.
    private var inputEnded = false
    /// How long a half-closed connection waits for the client to close its side.
    static let linger = TimeAmount.seconds(2)
    /// A routed request asked for `Connection: close`: the router closes after answering it, so nothing behind it
    /// is served.
    private var lastRoutedRequest = false
    private var date = HTTPDate()
    private let idleTimeout: TimeAmount
    private var lastActivity = NIODeadline.now()
    /// Whether a request's head has been read and not yet its end.
    private var reading = false
    /// The pending idle check; nil while the connection waits for an answer (the answer schedules the next).
    private var idleCheck: Scheduled<Void>?
    /// Set by a graceful shutdown: the connection closes once what is in progress is answered.
    private var quiescing = false

    private enum HeldSignal {
        case error(any Error)
        case event(Any)
    }

    private final class Current {
        let request: HTTPRequest
        let app: String
        let method: String
        let id: String
        let start = ContinuousClock.now
        var body: [UInt8] = []
        /// Its end has been read and the call handed to the app.
        var served = false
        /// Answers 504 if the app has not answered by the gateway's `request_timeout_ms`.
        var timeout: Scheduled<Void>?

        init(request: HTTPRequest, app: String, method: String, id: String) {
            self.request = request
            self.app = app
            self.method = method
            self.id = id
        }
    }

    init(calls: AppCalls, logger: Logger, idleTimeout: TimeAmount) {
        self.calls = calls
        self.logger = logger
        self.idleTimeout = idleTimeout
        maxBody = calls.settings.maxBodyKB * 1024
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let part = unwrapInboundIn(data)
        lastActivity = .now()
        reading = if case .end = part { false } else { true }
        if held.isEmpty && take(part, context: context) { return }
        held.append(part)
    }

    /// Handles a part now, or returns false when it must wait.
    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) -> Bool {
        switch part {
        case .head(let request):
            if lastRoutedRequest {
                closing = true
                return true
            }
            guard current == nil else { return false }
            guard let target = AppCalls.target(of: request) else {
                routed += 1
                if request.headerFields[.connection] == "close" { lastRoutedRequest = true }
                context.fireChannelRead(wrapInboundOut(part))
                return true
            }
            guard routed == 0 else { return false }
            if quiescing {
                // The router's requests are answered and the shutdown is under way: no new call starts.
                closing = true
                context.close(promise: nil)
                return true
            }
            begin(request, target, context: context)
        case .body(let buffer):
            guard let current else {
                context.fireChannelRead(wrapInboundOut(part))
                return true
            }
            guard current.body.count + buffer.readableBytes <= maxBody else {
                refuseOversized(current, context: context)
                return true
            }
            current.body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let current else {
                context.fireChannelRead(wrapInboundOut(part))
                return true
            }
            serve(current, context: context)
        }
        return true
    }

    private func begin(_ request: HTTPRequest, _ target: (app: String, method: String), context: ChannelHandlerContext) {
        let id = request.headerFields[.requestID].flatMap { RequestIDMiddleware.isSane($0) ? $0 : nil } ?? RequestIDMiddleware.newID()
        let call = Current(request: request, app: target.app, method: target.method, id: id)
        current = call
        guard let declared = request.headerFields[.contentLength].flatMap(Int.init) else { return }
        // A declared length is only a claim: room for at most 64 KiB is made before the bytes arrive.
        if declared > maxBody { refuseOversized(call, context: context) } else { call.body.reserveCapacity(min(declared, 65536)) }
    }

    /// 413, then the connection closes: nothing after the oversized request is served.
    private func refuseOversized(_ call: Current, context: ChannelHandlerContext) {
        closing = true
        respond(call, .failure(APIError.bodyTooLarge(limit: maxBody)), context: context)
    }

    private func serve(_ call: Current, context: ChannelHandlerContext) {
        call.served = true
        let loop = context.eventLoop
        let timeoutMs = calls.settings.requestTimeoutMs
        if timeoutMs > 0 {
            call.timeout = loop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(timeoutMs))) {
                self.respond(call, .failure(self.calls.timedOut(app: call.app)), context: context)
            }
        }
        let bound = NIOLoopBound((self, context, call), eventLoop: loop)
        calls.call(call.request, app: call.app, method: call.method, body: call.body, requestID: call.id,
                   client: context.remoteAddress) { result in
            loop.execute {
                let (handler, context, call) = bound.value
                handler.respond(call, result, context: context)
            }
        }
    }

    /// Writes the answer (or the JSON error), records the request, and lets waiting requests go on.
    private func respond(_ call: Current, _ result: Result<AppAnswer, APIError>, context: ChannelHandlerContext) {
        guard current === call else { return }
        current = nil
        call.timeout?.cancel()
        let answer: AppAnswer
        switch result {
        case .success(let a): answer = a
        case .failure(let error):
            RequestIDMiddleware.log(error, cause: error, requestID: call.id, logger: logger)
            answer = error.answer(requestID: call.id)
        }
        let close = closing || quiescing || call.request.headerFields[.connection] == "close"
        var fields = answer.headers
        // 204 and 304 carry no body (`AppCalls` refuses one) and no length.
        if answer.status != .noContent && answer.status != .notModified { fields[.contentLength] = String(answer.body.count) }
        fields[.requestID] = call.id
        fields[.date] = date.now()
        fields[.server] = Gateway.serverName
        if close { fields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
        if !answer.body.isEmpty {
            context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: answer.body))), promise: nil)
        }
        calls.metrics.requestFinished(route: AppCalls.route, method: "POST", status: answer.status.code,
                                      duration: ContinuousClock.now - call.start)
        answered(context: context)
        if close {
            closing = true
            held.removeAll()
            heldSignals.removeAll()
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                self.finishConnection(context: context)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            release(context: context)
        }
    }

    /// After the last answer: closes the sending side, and the whole connection once the client's side is closed
    /// too (or could not be closed alone).
    private func finishConnection(context: ChannelHandlerContext) {
        guard !inputEnded else { return context.close(promise: nil) }
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) { context.close(promise: nil) }
        resumeReading(context: context)
    }

    /// Takes the held parts that can go now, then passes on held signals and reads again once nothing waits.
    private func release(context: ChannelHandlerContext) {
        let before = held.count
        // Taken off first: taking a part can close the connection, and closing empties `held`.
        while !closing, let part = held.popFirst() {
            if !take(part, context: context) {
                held.prepend(part)
                break
            }
        }
        // The router's channel hands parts on at the end of a read: released parts make one.
        if held.count < before { context.fireChannelReadComplete() }
        if held.isEmpty && !heldSignals.isEmpty {
            abandonIncomplete()
            if current == nil {
                let signals = heldSignals
                heldSignals = []
                for signal in signals {
                    switch signal {
                    case .error(let error): context.fireErrorCaught(error)
                    case .event(let event): context.fireUserInboundEventTriggered(event)
                    }
                }
            }
        }
        resumeReading(context: context)
    }

    /// The input ended (a half-close or an error) in the middle of an app call's request: it can never be
    /// served, so no answer is owed for it.
    private func abandonIncomplete() {
        if let current, !current.served { self.current = nil }
    }

    // MARK: - Reads and writes

    /// Reads go on only when no part waits and the outbound buffer has room: a client that pipelines requests
    /// and never reads the answers cannot grow either.
    func read(context: ChannelHandlerContext) {
        // Closing, the client's bytes are read (and dropped) until it closes its side.
        if closing || (held.isEmpty && context.channel.isWritable) { context.read() } else { readPending = true }
    }

    private func resumeReading(context: ChannelHandlerContext) {
        guard readPending && (closing || (held.isEmpty && context.channel.isWritable)) else { return }
        readPending = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReading(context: context)
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        guard isEnd else { return }
        answered(context: context)
        // Never below zero: the router also answers what never reached it as a request (a parse error's 400).
        routed = max(routed - 1, 0)
        if routed == 0 && (!held.isEmpty || !heldSignals.isEmpty) {
            // Not from inside the router's write: the held parts go on in the next tick.
            context.eventLoop.assumeIsolated().execute { self.release(context: context) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if held.isEmpty { abandonIncomplete() }
        if held.isEmpty && current == nil && heldSignals.isEmpty { context.fireErrorCaught(error) } else { hold(.error(error)) }
    }

    /// At most a few signals are kept: an error or a half-close ends the input, so little follows it.
    private func hold(_ signal: HeldSignal) {
        if heldSignals.count < 4 { heldSignals.append(signal) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        held.removeAll()
        idleCheck?.cancel()
        idleCheck = nil
        context.fireChannelInactive()
    }

    // MARK: - Idle timeout and graceful shutdown

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context: context, in: idleTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        scheduleIdleCheck(context: context, in: idleTimeout)
        context.fireChannelActive()
    }

    /// An answer was written: the quiet time counts from now, and a check paused while the answer was owed is
    /// scheduled again.
    private func answered(context: ChannelHandlerContext) {
        lastActivity = .now()
        if idleCheck == nil { scheduleIdleCheck(context: context, in: idleTimeout) }
    }

    private func scheduleIdleCheck(context: ChannelHandlerContext, in delay: TimeAmount) {
        idleCheck?.cancel()
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { self.checkIdle(context: context) }
    }

    /// Closes a connection quiet for `idleTimeout`, unless it waits for an answer: to a request read whole, or
    /// to one ahead of requests held behind it. A client that stalls halfway through sending a request is closed.
    private func checkIdle(context: ChannelHandlerContext) {
        idleCheck = nil
        if !closing && (!held.isEmpty || (!reading && (current != nil || routed > 0))) { return }
        let quietUntil = lastActivity + idleTimeout
        if NIODeadline.now() < quietUntil {
            scheduleIdleCheck(context: context, in: quietUntil - .now())
        } else {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            inputEnded = true
            if closing { return context.close(promise: nil) }
            if held.isEmpty { abandonIncomplete() }
            if held.isEmpty && current == nil && heldSignals.isEmpty { context.fireUserInboundEventTriggered(event) } else { hold(.event(event)) }
            return
        }
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        quiescing = true
        // With an app call in progress, its answer closes the connection, and requests held behind it are not
        // served; otherwise the connection-state handler closes it once the router's requests are answered.
        if current == nil { context.fireUserInboundEventTriggered(event) }
    }
}
