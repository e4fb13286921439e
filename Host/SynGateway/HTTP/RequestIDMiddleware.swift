import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// The outermost middleware: accepts a sane `X-Request-Id` or makes one, puts it on every log line and response
/// (errors included), refuses a request without exactly one `Host` header, turns every thrown error into the JSON
/// error shape, and records the request's metrics.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let metrics: GatewayMetrics
    let logger: Logger

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
            if let problem = HostHeader.problem(request.head) { throw problem }
            response = try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            Self.log(apiError, cause: error, requestID: id, logger: logger)
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
    /// A failure (5xx) as an error line with its cause, a refusal as an info line.
    static func log(_ apiError: APIError, cause: any Error, requestID: String, logger: Logger) {
        if apiError.status.code >= 500 {
            logger.error("request failed", metadata: ["error": "\(cause)", "code": "\(apiError.code)", "request_id": "\(requestID)"])
        } else {
            logger.info("request refused", metadata: ["status": "\(apiError.status.code)", "code": "\(apiError.code)",
                                                      "request_id": "\(requestID)"])
        }
    }

    /// 32 hex digits: a random prefix drawn once per process, then a per-request counter passed through a keyed
    /// bijective mix (splitmix64's finaliser), so ids are unique within a run, unrelated across runs, and do not
    /// show how many requests the node has served. No system call per request.
    static func newID() -> String {
        let n = RequestIDSeed.counter.add(1, ordering: .relaxed).newValue
        var z = n &+ RequestIDSeed.key
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return String(unsafeUninitializedCapacity: 32) { out in
            let digits: StaticString = "0123456789abcdef"
            func put(_ value: UInt64, at offset: Int) {
                var v = value
                for k in 0..<16 {
                    out[offset + 15 - k] = digits.utf8Start[Int(v & 15)]
                    v >>= 4
                }
            }
            put(RequestIDSeed.prefix, at: 0)
            put(z, at: 16)
            return 32
        }
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
    static let contentDigest = HTTPField.Name("Content-Digest")!
    /// The node an app moved to (410 `app_moved`).
    static let movedTo = HTTPField.Name("Syneroym-Moved-To")!
    /// The node an app is moving to (503 `app_moving`).
    static let movingTo = HTTPField.Name("Syneroym-Moving-To")!
}

/// Per-process state for `RequestIDMiddleware.newID`.
enum RequestIDSeed {
    static let prefix: UInt64 = .random(in: .min ... .max)
    static let key: UInt64 = .random(in: .min ... .max)
    static let counter = Atomic<UInt64>(0)
}
