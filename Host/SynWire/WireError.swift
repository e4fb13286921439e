/// A malformed, oversized or failed exchange on the host<->worker link.
public struct WireError: Error, Equatable, CustomStringConvertible {
    /// Stable machine-readable reasons.
    public enum Code: String, Sendable {
        case truncated, oversized, unknownKind, badFragment, closed, io, timeout, badPayload
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code.rawValue): \(message)" }
}
