/// Why the node could not start or do what was asked: a code for programs, a message for people.
public struct NodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case config, storage, unknownApp = "unknown_app", appLoad = "app_load", io
        case dataDirectoryInUse = "data_directory_in_use"
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
