import PluginABI
/// An error an app's handler answers with: an HTTP status, a stable machine code and a human message. The SDK
/// sends it as `{"error": {"code": ..., "message": ...}}` with that status.
public struct AppError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String

    public init(status: Int, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    /// 400: the input is wrong; say which field and why.
    public static func badRequest(_ message: String, code: String = "bad_request") -> AppError {
        AppError(status: 400, code: code, message)
    }
    /// 401: the method needs a signed caller.
    public static func unauthenticated(_ message: String = "this method needs a signed request") -> AppError {
        AppError(status: 401, code: "caller_required", message)
    }
    /// 403: the caller may not do this.
    public static func forbidden(_ message: String) -> AppError { AppError(status: 403, code: "forbidden", message) }
    /// 404: no such thing.
    public static func notFound(_ message: String) -> AppError { AppError(status: 404, code: "not_found", message) }
    /// 409: it conflicts with the current state.
    public static func conflict(_ message: String, code: String = "conflict") -> AppError {
        AppError(status: 409, code: code, message)
    }
}

/// A host function failed: its `syn_status` and the host's message (which names the grant to add, for a denial).
public struct HostError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int32
    public let slot: String
    public let message: String
    public var description: String { "\(slot) failed (\(status)): \(message)" }

    /// The same failure as the HTTP answer an app would give for it.
    public var appError: AppError {
        switch status {
        case SYN_E_NOT_FOUND: AppError(status: 404, code: "not_found", message)
        case SYN_E_BAD_ARG: AppError(status: 400, code: "bad_argument", message)
        case SYN_E_DENIED: AppError(status: 403, code: "denied", message)
        case SYN_E_QUOTA: AppError(status: 507, code: "quota", message)
        case SYN_E_TIMEOUT: AppError(status: 504, code: "timeout", message)
        case SYN_E_CONFLICT: AppError(status: 409, code: "conflict", message)
        case SYN_E_TOO_LARGE: AppError(status: 413, code: "too_large", message)
        default: AppError(status: 500, code: "host_error", "\(slot): \(message)")
        }
    }
}
