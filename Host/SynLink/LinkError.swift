/// A malformed, oversized or unacceptable frame from a peer: the link that sent it is closed, nothing else.
public struct LinkError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A frame past the size the link allows.
        case oversized
        /// A kind this version does not know.
        case unknownKind = "unknown_kind"
        /// A payload that does not parse, has bytes left over, or breaks a field's rules.
        case malformed
        /// No protocol version both sides speak.
        case version
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
