import SynSodium

extension AppManifest {
    /// Looks for `library` next to the manifest, then in each of `searchDirectories`; verifies sha256 if set.
    /// Returns the absolute-or-as-joined path. Throws libraryNotFound (message lists every place tried) or
    /// checksumMismatch (message shows expected and actual).
    public func resolveLibrary(searchDirectories: [String]) throws(ConfigError) -> String {
        let file = path ?? lines.file ?? "<manifest>"
        if let problem = NameRules.libraryPathProblem(library) {
            throw ConfigError(code: .badValue, file: file, line: lines.library, key: "app.library",
                              message: "app.library \(problem), got \"\(library)\"")
        }
        var tried: [String] = []
        if let path { tried.append(TextFile.join(TextFile.directory(of: path), library)) }
        for directory in searchDirectories { tried.append(TextFile.join(directory, library)) }
        guard let found = tried.first(where: TextFile.isRegularFile) else {
            let places = tried.isEmpty ? "nowhere (no manifest path and no search directories)"
                : tried.joined(separator: ", ")
            throw ConfigError(code: .libraryNotFound, file: file, line: lines.library, key: "app.library",
                              message: "library '\(library)' not found; tried: \(places)")
        }
        if let sha256 {
            let actual: String
            do { actual = try FileDigest.sha256Hex(path: found) } catch {
                throw ConfigError(code: .unreadable, file: found, message: error.message)
            }
            guard actual == sha256 else {
                throw ConfigError(code: .checksumMismatch, file: file, line: lines.sha256, key: "app.sha256",
                                  message: "checksum mismatch for \(found): expected sha256 \(sha256), actual \(actual)")
            }
        }
        return found
    }
}
