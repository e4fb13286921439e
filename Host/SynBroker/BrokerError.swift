/// A failure to set up the broker (data directory, keys, an app's storage).
public struct BrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable { case dataDirectory, dataDirectoryInUse, identity, storage, unknownApp }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code.rawValue): \(message)" }
}
