/// A federation failure with a code and a message that names the fix.
public struct FederationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case badPeer = "bad_peer"
        case unknownPeer = "unknown_peer"
        case storage
        case listen
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
