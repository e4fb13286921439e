import Foundation
public import Hummingbird
import HTTPTypes
import Logging
import NIOCore

/// The outermost middleware: accepts a sane `X-Request-Id` or makes one, puts it on every log line and response
/// (errors included), turns every thrown error into the JSON error shape, and records the request's metrics.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let metrics: GatewayMetrics

    /// 1–128 characters of `[A-Za-z0-9._:-]`; anything else is replaced, not echoed.
    static func isSane(_ s: String) -> Bool {
        guard (1...128).contains(s.utf8.count) else { return false }
        return s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x2E || b == 0x5F || b == 0x3A || b == 0x2D
        }
    }

    func handle(_ request: Request, context: GatewayContext,
                next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let id = request.headers[.requestID].flatMap { Self.isSane($0) ? $0 : nil } ?? Self.newID()
        context.requestID = id
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(error)", "code": "\(apiError.code)", "request_id": "\(id)"])
            } else {
                context.logger.info("request refused", metadata: ["status": "\(apiError.status.code)", "code": "\(apiError.code)",
                                                                  "request_id": "\(id)"])
            }
            response = apiError.response(requestID: id)
        }
        response.headers[.requestID] = id
        if response.status == .contentTooLarge { response = Self.closingAfterWrite(response, channel: context.channel) }
        metrics.requestFinished(route: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                                status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }
}

extension RequestIDMiddleware {
    /// 128 random bits as 32 hex digits, from the system generator (getrandom; no file to open per request).
    static func newID() -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 32)
        for half in 0..<2 {
            var v = rng.next()
            for k in 0..<16 {
                out[half * 16 + k] = digits[Int(v & 15)]
                v >>= 4
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Hummingbird would read and discard the rest of an oversized upload to keep the connection: instead the
    /// 413 is written whole and then the connection is closed.
    static func closingAfterWrite(_ response: Response, channel: any Channel) -> Response {
        var response = response
        let original = response.body
        response.headers[.connection] = "close"
        response.body = ResponseBody(contentLength: original.contentLength) { writer in
            try await original.write(writer)
            channel.close(promise: nil)
        }
        return response
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let signature = HTTPField.Name("Signature")!
    static let signatureInput = HTTPField.Name("Signature-Input")!
}
