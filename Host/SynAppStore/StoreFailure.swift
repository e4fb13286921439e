/// A slot's failure: a `syn_status` and the message the app reads through `last_error`.
public struct StoreFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int32
    public let message: String
    public init(_ status: Int32, _ message: String) {
        self.status = status
        self.message = message
    }
    public var description: String { "status \(status): \(message)" }
}
