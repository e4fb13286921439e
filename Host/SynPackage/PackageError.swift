/// A package that cannot be made, read or installed: a stable code and a message that names the fix.
public struct PackageError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Why.
    public enum Code: String, Sendable {
        /// The file cannot be read or written.
        case io
        /// Not a `.synapp` file of a format this node reads, or its structure is broken (sizes, names, JSON).
        case format
        /// Larger than a limit (the header, a file, the package).
        case tooLarge
        /// The developer's signature does not verify.
        case signature
        /// A file's bytes do not match the hash the signed header gives.
        case hash
        /// The manifest inside does not parse or does not match the header (id, version, ABI, library).
        case manifest
        /// Built for a PluginABI major this host does not run.
        case abi
        /// Signed by another key than the one pinned for the app id.
        case developerKey
        /// The key given to `pack` cannot be used.
        case key
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
