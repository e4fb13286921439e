/// Why `net_request` failed, with the `syn_status` the app sees.
public struct FetchError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The URL (or a redirect's) is outside the app's granted `net.fetch` prefixes.
        case denied
        /// The address is not public (loopback, private, link-local …) and no grant names it.
        case forbiddenAddress
        case badRequest
        case tooLarge
        case timeout
        /// DNS, TCP, TLS (certificates) or HTTP failed.
        case network
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
