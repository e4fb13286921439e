import Foundation
public import Hummingbird
import HTTPTypes
import NIOCore

/// Every error the gateway answers, as `{"error": {"code": ..., "message": ...}, "request_id": ...}`.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "the request body is larger than \(limit / 1024) KiB (node.toml [gateway] max_body_kb)")
    }

    /// Any error thrown below the outermost middleware, as the JSON error it becomes.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as NIOTooManyBytesError: return .bodyTooLarge(limit: e.maxBytes ?? 0)
        case let e as HTTPError where e.status == .notFound:
            // The router's own 404: no route matched (an app's answer never comes this way).
            return APIError(.notFound, "no_route", "no such route on this node (docs/http-api.md lists them)", headers: e.headers)
        case let e as HTTPError:
            let code = switch e.status {
            case .methodNotAllowed: "method_not_allowed"
            case .badRequest: "bad_request"
            default: "http_\(e.status.code)"
            }
            return APIError(e.status, code, e.body ?? e.status.reasonPhrase, headers: e.headers)
        case let e as any HTTPResponseError:
            return APIError(e.status, "http_\(e.status.code)", e.status.reasonPhrase)
        default:
            return APIError(.internalServerError, "internal", "internal error")
        }
    }

    /// The JSON error for the event-loop path.
    func answer(requestID: String) -> AppAnswer {
        AppAnswer(status: status, headers: headers, json: GatewayJSON.error(code: code, message: message, requestID: requestID))
    }

    func response(requestID: String) -> Response {
        GatewayJSON.response(status, GatewayJSON.error(code: code, message: message, requestID: requestID), headers: headers)
    }
}
