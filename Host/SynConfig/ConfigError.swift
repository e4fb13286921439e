/// A refused configuration file: what is wrong, and where (file, 1-based line, dotted key).
public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The kind of problem.
    public enum Code: String, Sendable {
        case unreadable, syntax, unknownKey, missingKey, badType, badValue, unknownSyscall
        case libraryNotFound, checksumMismatch
    }

    public let code: Code
    /// The file path as given by the caller.
    public let file: String
    /// 1-based line of the offending key; for a missing key, the line of its table's header (nil if none).
    public let line: Int?
    /// Dotted key path, e.g. `limits.memory_mb`.
    public let key: String?
    /// What was expected and what was found.
    public let message: String

    public init(code: Code, file: String, line: Int? = nil, key: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: key 'a.b': message`, leaving out the parts that are nil.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "key '\(key)': " }
        return text + message
    }
}
