/// Why the node could not start or do what was asked: a code for programs, a message for people.
public struct NodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case config, storage, unknownApp = "unknown_app", appLoad = "app_load", io
        case dataDirectoryInUse = "data_directory_in_use"
        /// A package that does not verify (format, signature, hashes, manifest, ABI).
        case package = "bad_package"
        /// A package signed by another key than the one pinned for its app id.
        case developerKey = "developer_key_changed"
        /// A version that is not newer than the installed one, or nothing to roll back to.
        case version = "version_conflict"
        /// Another install or rollback is under way.
        case busy
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
