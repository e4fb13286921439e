/// A refused or failed identity operation: a stable code plus a message for the node owner.
///
/// Messages name paths and modes, never key material.
public struct SodiumError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Stable machine-readable reasons.
    public enum Code: String, Sendable {
        case initFailed, io, permissions, format, badKey, badSignature, badLength
    }

    public let code: Code
    /// What went wrong and, where there is one, the fix.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
