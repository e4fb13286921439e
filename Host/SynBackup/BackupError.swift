/// A backup that cannot be written, read or restored: a stable code and a message naming the fix.
public struct BackupError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// A file cannot be read or written.
        case io
        /// Not an archive of a format this node reads, or its structure is broken.
        case format
        /// The key or passphrase does not open the archive.
        case wrongKey = "wrong_key"
        /// A part of the archive does not authenticate, or a file does not match its hash: it was altered or damaged.
        case damaged
        /// The key file is unusable (missing, readable by others, empty).
        case key
        /// Larger than a limit.
        case tooLarge = "too_large"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
