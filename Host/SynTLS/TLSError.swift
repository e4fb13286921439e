/// A TLS failure: what went wrong, with GnuTLS's own words where it has them.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The local key or credentials could not be set up.
        case identity
        /// The peer did not present an acceptable raw public key (another key, a certificate chain, none).
        case peerRefused = "peer_refused"
        /// The handshake or a record failed (bad data, an unsupported peer, a closed connection).
        case handshake
        case record
        /// The peer closed the connection before the handshake completed.
        case closed
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
