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
/// What the connection is doing (the call in progress, held parts, closing, idleness) is one value,
/// `AppCallConnection`; this handler reports events to it and carries out its answers. Timers (the idle check, a
/// call's `request_timeout_ms`) run on the connection's event loop.
final class AppCallHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let calls: any AppCallService
    private let logger: Logger
    private let maxBody: Int
    private var state: AppCallConnection
    private var date = HTTPDate()
    /// The pending idle check; nil while the connection waits for an answer (the answer schedules the next).
    private var idleCheck: Scheduled<Void>?
    /// The app call's `request_timeout_ms`.
    private var callTimeout: Scheduled<Void>?
    /// How long a half-closed connection waits for the client to close its side.
    static let linger = TimeAmount.seconds(2)

    init(calls: any AppCallService, logger: Logger, idleTimeout: TimeAmount) {
        self.calls = calls
        self.logger = logger
        maxBody = calls.settings.maxBodyKB * 1024
        state = AppCallConnection(idleTimeout: idleTimeout, now: .now())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard state.arrived(part, now: context.eventLoop.now) else { return }
        if !take(part, context: context) { state.hold(part, first: false) }
    }

    /// Handles a part now, or returns false when it must wait.
    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) -> Bool {
        switch state.step(part, isAppCall: AppCalls.target(of:)) {
        case .hold:
            return false
        case .drop:
            break
        case .route:
            context.fireChannelRead(wrapInboundOut(part))
        case .closeNow:
            context.close(promise: nil)
        case .begin(let app, let method):
            guard case .head(let request) = part else { break }
            let id = request.headerFields[.requestID].flatMap { RequestIDMiddleware.isSane($0) ? $0 : nil } ?? RequestIDMiddleware.newID()
            let number = state.begin(request, app: app, method: method, id: id, start: .now)
            if let declared = request.headerFields[.contentLength].flatMap(Int.init) {
                if declared > maxBody { refuseOversized(number, context: context) } else { state.reserve(declared) }
            }
        case .body:
            guard case .body(let buffer) = part, let number = state.call?.number else { break }
            if !state.append(buffer, limit: maxBody) { refuseOversized(number, context: context) }
        case .serve:
            serve(context: context)
        }
        return true
    }

    /// 413, then the connection closes: nothing after the oversized request is served.
    private func refuseOversized(_ number: UInt64, context: ChannelHandlerContext) {
        state.close()
        respond(number, .failure(APIError.bodyTooLarge(limit: maxBody)), context: context)
    }

    private func serve(context: ChannelHandlerContext) {
        state.served()
        guard let call = state.call else { return }
        let loop = context.eventLoop
        let settlement = CallSettlement()
        let timeoutMs = calls.settings.requestTimeoutMs
        if timeoutMs > 0 {
            callTimeout = loop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(timeoutMs))) {
                guard settlement.settle() else { return }
                self.respond(call.number, .failure(self.calls.timedOut(app: call.app)), context: context)
            }
        }
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        calls.call(call.request, app: call.app, method: call.method, body: call.body, requestID: call.id,
                   client: context.remoteAddress, settlement: settlement) { result in
            loop.execute {
                let (handler, context) = bound.value
                handler.respond(call.number, result, context: context)
            }
        }
    }

    /// Writes the answer to call `number` (or its JSON error), records it, and lets waiting requests go on.
    private func respond(_ number: UInt64, _ result: Result<AppAnswer, APIError>, context: ChannelHandlerContext) {
        guard let (call, close) = state.answer(number, now: context.eventLoop.now) else { return }
        callTimeout?.cancel()
        callTimeout = nil
        let answer: AppAnswer
        switch result {
        case .success(let a): answer = a
        case .failure(let error):
            RequestIDMiddleware.log(error, cause: error, requestID: call.id, logger: logger)
            answer = error.answer(requestID: call.id)
        }
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
        calls.finished(status: answer.status.code, duration: ContinuousClock.now - call.start)
        if idleCheck == nil { scheduleIdleCheck(context: context, in: state.idleTimeout) }
        if close {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                self.finishConnection(context: context)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            release(context: context)
        }
    }

    /// After the last answer: closes the sending side, and the whole connection once the client's side is closed
    /// too (or after `linger`, or at once if it cannot be closed alone). Closing at once with the client's bytes
    /// unread would reset the connection, and the client could lose the answer.
    private func finishConnection(context: ChannelHandlerContext) {
        guard !state.inputEnded else { return context.close(promise: nil) }
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) { context.close(promise: nil) }
        resumeReading(context: context)
    }

    /// Takes the held parts that can go now, then passes on held signals and reads again once nothing waits.
    private func release(context: ChannelHandlerContext) {
        var released = false
        // Taken off first: taking a part can close the connection, and closing empties what is held.
        while let part = state.nextHeld() {
            guard take(part, context: context) else {
                state.hold(part, first: true)
                break
            }
            released = true
        }
        // The router's channel hands parts on at the end of a read: released parts make one.
        if released { context.fireChannelReadComplete() }
        for signal in state.releasableSignals() {
            switch signal {
            case .error(let error): context.fireErrorCaught(error)
            case .event(let event): context.fireUserInboundEventTriggered(event)
            }
        }
        resumeReading(context: context)
    }

    // MARK: - Reads and writes

    func read(context: ChannelHandlerContext) {
        if state.mayRead(writable: context.channel.isWritable) { context.read() }
    }

    private func resumeReading(context: ChannelHandlerContext) {
        if state.resume(writable: context.channel.isWritable) { context.read() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReading(context: context)
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        guard isEnd else { return }
        if idleCheck == nil { scheduleIdleCheck(context: context, in: state.idleTimeout) }
        if state.routedAnswered(now: context.eventLoop.now) {
            // Not from inside the router's write: the held parts go on in the next tick.
            context.eventLoop.assumeIsolated().execute { self.release(context: context) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if state.signal(.error(error)) { context.fireErrorCaught(error) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.close()
        cancelTimers()
        context.fireChannelInactive()
    }

    // MARK: - Idle timeout and graceful shutdown

    func handlerAdded(context: ChannelHandlerContext) {
        state.active(now: context.eventLoop.now)
        if context.channel.isActive { scheduleIdleCheck(context: context, in: state.idleTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancelTimers() }

    func channelActive(context: ChannelHandlerContext) {
        state.active(now: context.eventLoop.now)
        scheduleIdleCheck(context: context, in: state.idleTimeout)
        context.fireChannelActive()
    }

    private func cancelTimers() {
        idleCheck?.cancel()
        idleCheck = nil
        callTimeout?.cancel()
        callTimeout = nil
    }

    private func scheduleIdleCheck(context: ChannelHandlerContext, in delay: TimeAmount) {
        idleCheck?.cancel()
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { self.checkIdle(context: context) }
    }

    private func checkIdle(context: ChannelHandlerContext) {
        idleCheck = nil
        switch state.idle(now: context.eventLoop.now) {
        case .waitForAnswer: break
        case .checkAgain(let delay): scheduleIdleCheck(context: context, in: delay)
        case .close: context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            if state.inputClosed() { return context.close(promise: nil) }
            if state.signal(.event(event)) { context.fireUserInboundEventTriggered(event) }
            return
        }
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        if state.quiesce() { context.fireUserInboundEventTriggered(event) }
    }
}
