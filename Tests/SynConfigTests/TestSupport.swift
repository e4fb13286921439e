import Glibc
import SynConfig

/// The repository root, found from this file's real location (Tests/SynConfigTests/ -> root).
func repositoryRoot(file: String = #filePath) -> String {
    var resolved = file
    if let real = realpath(file, nil) {
        resolved = String(cString: real)
        free(real)
    }
    var parts = resolved.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}

/// Runs `body` and returns the ConfigError it throws, or nil if it succeeds.
func configError<T>(_ body: () throws(ConfigError) -> T) -> ConfigError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
