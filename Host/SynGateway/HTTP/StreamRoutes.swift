import Hummingbird
import HTTPTypes
import NIOCore
import ServiceLifecycle
import SynConfig
import SynRuntime

/// `GET /v1/apps/{app}/stream`: a signed person's live stream of the notices the app publishes for them
/// (`msg_publish` on `client.<their key as hex>`, sent once the call that published it commits), as Server-Sent
/// Events. Each notice is one event (`id` counts from 1, `data` the payload's lines); a quiet stream sends a
/// comment every `[gateway] stream_ping_s`; a stream that ends on the node's side (the app stopped, the node is
/// stopping) sends `event: end` with the reason. A client that falls `[gateway] stream_queue_kb` behind is cut
/// off: its connection closes, and other streams are not held back by it.
struct StreamRoutes: Sendable {
    let runtime: NodeRuntime
    let metrics: GatewayMetrics
    let signatures: SignatureCheck

    func add(to router: Router<GatewayContext>) {
        router.get("/v1/apps/:app/stream") { request, context in
            try open(request, context)
        }
    }

    private func open(_ request: Request, _ context: GatewayContext) throws(APIError) -> Response {
        guard SignatureCheck.isSigned(request.head) else {
            throw APIError(.unauthorized, "signature_required",
                           "a stream carries one person's notices: sign the request as that person (docs/request-signing.md)",
                           headers: [.wwwAuthenticate: #"Signature realm="syneroym", alg="ed25519""#])
        }
        let person = try signatures.caller(of: request.head, body: [], client: context.channel.remoteAddress)
        let app = context.parameters.get("app") ?? ""
        let stream: ClientStream
        do {
            stream = try runtime.openStream(app: app, person: person, client: SignatureCheck.clientKey(of: request.head, from: context.channel.remoteAddress, trusting: signatures.trustedProxies))
        } catch {
            switch error {
            case .unknownApp(let id): throw APIError(.notFound, "unknown_app", "no app '\(id)' on this node (GET /v1/apps lists them)")
            case .notGranted(let why): throw APIError(.forbidden, "streams_not_granted", why)
            case .notRunning(let why):
                throw APIError(.serviceUnavailable, "app_unavailable", why, headers: [.retryAfter: "1"])
            case .limit(let refusal):
                throw APIError(refusal.code == .full ? .serviceUnavailable : .tooManyRequests, refusal.code.rawValue,
                               refusal.message, headers: [.retryAfter: "5"])
            }
        }
        metrics.streamOpened()
        let channel = context.channel, runtime = self.runtime, metrics = self.metrics
        // Forgotten when the connection closes, whatever happens before the body runs (a reset before the head).
        channel.closeFuture.whenComplete { _ in
            stream.finish(.closed)
            runtime.closeStream(stream)
        }
        let ping = Duration.seconds(runtime.config.gateway.streamPingS)
        // Connection: close: the node closes the connection once the stream ends (a client does not reuse it).
        let headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store", .connection: "close",
                                   HTTPField.Name("X-Accel-Buffering")!: "no"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer {
                metrics.streamEnded((stream.ended ?? .closed).rawValue)
                runtime.closeStream(stream)
            }
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // The connection closes once the stream ends: at once when the client fell behind (a write may be
                    // stuck on it), else 2 s later, time for the end event, on the event loop, whatever the
                    // writer does meanwhile. A stalled client holds nothing up.
                    group.addTask {
                        let why = await stream.waitForEnd()
                        if why == .tooSlow {
                            channel.close(promise: nil)
                        } else {
                            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
                        }
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: ping)
                            stream.offer(.ping)
                        }
                    }
                    defer { group.cancelAll() }
                    try await writer.write(ByteBuffer(string: "retry: 2000\n: stream of \(stream.app)\n\n"))
                    var number = 0
                    loop: while true {
                        var out = ByteBuffer()
                        var ended: ClientStream.End?
                        for item in await stream.next() {
                            switch item {
                            case .notice(let payload):
                                number += 1
                                Self.event(number, payload, into: &out)
                            case .ping:
                                out.writeString(": ping\n\n")
                            case .end(let why):
                                ended = why
                            }
                        }
                        if out.readableBytes > 0 { try await writer.write(out) }
                        guard let why = ended else { continue }
                        if why != .closed && why != .tooSlow {
                            try await writer.write(ByteBuffer(string: "event: end\ndata: {\"reason\":\"\(why.rawValue)\"}\n\n"))
                            try await writer.finish(nil)
                        }
                        break loop
                    }
                }
            } onGracefulShutdown: {
                stream.finish(.nodeStopping)
            }
        })
    }

    /// One Server-Sent Event: its id, then the payload line by line (`\r\n`, `\r` and `\n` all end a line).
    static func event(_ number: Int, _ payload: [UInt8], into out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: payload.count + 32)
        out.writeString("id: \(number)\ndata: ")
        var previous: UInt8 = 0
        for byte in payload {
            if byte == 10 && previous == 13 { previous = byte; continue }
            if byte == 10 || byte == 13 { out.writeString("\ndata: ") } else { out.writeInteger(byte) }
            previous = byte
        }
        out.writeString("\n\n")
    }
}
