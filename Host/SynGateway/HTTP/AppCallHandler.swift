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
/// ed25519 verify and the body's SHA-256) and a body at the default 1 MiB limit up to a few milliseconds of hashing
/// and scanning, for which the loop's other connections wait.
///
/// Responses leave in request order: an app call waits while the router still owes responses on the connection,
/// and any request waits while an app call is served. Waiting parts are held, and the connection is not read
/// further until they have gone, so a pipelining client cannot grow the backlog.
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
    private var readPending = false
    /// Set by a 413, `Connection: close` or a shutdown: nothing more is read, and the connection closes once the
    /// answer is written.
    private var closing = false
    private var date = HTTPDate()
    private let idleTimeout: TimeAmount
    private var lastActivity = NIODeadline.now()
    /// Whether a request's head has been read and not yet its end.
    private var reading = false
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
            guard current == nil else { return false }
            guard let target = AppCalls.target(of: request) else {
                routed += 1
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

    /// 413, then the connection closes: the rest of an oversized upload is not read.
    private func refuseOversized(_ call: Current, context: ChannelHandlerContext) {
        closing = true
        held.removeAll()
        respond(call, .failure(APIError.bodyTooLarge(limit: maxBody)), context: context)
    }

    private func serve(_ call: Current, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context, call), eventLoop: loop)
        calls.call(call.request, app: call.app, method: call.method, body: call.body, requestID: call.id) { result in
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
        let answer: AppAnswer
        switch result {
        case .success(let a): answer = a
        case .failure(let error):
            RequestIDMiddleware.log(error, cause: error, requestID: call.id, logger: logger)
            answer = error.answer(requestID: call.id)
        }
        let close = closing || quiescing || call.request.headerFields[.connection] == "close"
        var fields = answer.headers
        fields[.contentLength] = String(answer.body.count)
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
        lastActivity = .now()
        if close {
            closing = true
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            release(context: context)
        }
    }

    /// Takes the held parts that can go now, then reads again once none is left.
    private func release(context: ChannelHandlerContext) {
        let before = held.count
        while let part = held.first, !closing {
            guard take(part, context: context) else { break }
            held.removeFirst()
        }
        // The router's channel hands parts on at the end of a read: released parts make one.
        if held.count < before { context.fireChannelReadComplete() }
        if held.isEmpty && current == nil && !heldSignals.isEmpty {
            let signals = heldSignals
            heldSignals = []
            for signal in signals {
                switch signal {
                case .error(let error): context.fireErrorCaught(error)
                case .event(let event): context.fireUserInboundEventTriggered(event)
                }
            }
        }
        if held.isEmpty && readPending {
            readPending = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if held.isEmpty { context.read() } else { readPending = true }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        guard isEnd else { return }
        lastActivity = .now()
        // Never below zero: the router also answers what never reached it as a request (a parse error's 400).
        routed = max(routed - 1, 0)
        if routed == 0 && !held.isEmpty {
            // Not from inside the router's write: the held parts go on in the next tick.
            context.eventLoop.assumeIsolated().execute { self.release(context: context) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if held.isEmpty && current == nil && heldSignals.isEmpty { context.fireErrorCaught(error) } else { hold(.error(error)) }
    }

    /// At most a few signals are kept: a parse error ends the input, so nothing follows it.
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

    private func scheduleIdleCheck(context: ChannelHandlerContext, in delay: TimeAmount) {
        idleCheck?.cancel()
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { self.checkIdle(context: context) }
    }

    /// Closes a connection quiet for `idleTimeout`, unless it waits for a response to a request read whole (a
    /// client that stalls halfway through sending a request is closed).
    private func checkIdle(context: ChannelHandlerContext) {
        idleCheck = nil
        let waitingForUs = !reading && (current != nil || routed > 0)
        let quietUntil = lastActivity + idleTimeout
        if waitingForUs || NIODeadline.now() < quietUntil {
            scheduleIdleCheck(context: context, in: waitingForUs ? idleTimeout : quietUntil - .now())
        } else {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent, current != nil || !held.isEmpty || !heldSignals.isEmpty {
            return hold(.event(event))
        }
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        quiescing = true
        // With an app call in progress, its answer closes the connection (held requests are dropped with it);
        // otherwise the connection-state handler closes it once the router's requests are answered.
        if current == nil { context.fireUserInboundEventTriggered(event) } else { held.removeAll() }
    }
}
