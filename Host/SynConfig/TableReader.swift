/// Reads one TOML table for a parser, turning every problem into a ConfigError with file, line and dotted key.
struct TableReader {
    let table: ConfigTable
    /// Key path of this table from the document root (empty for the root).
    let path: [String]
    let file: String
    let locator: KeyLocator

    /// Parses `text` and returns a reader for its root table.
    static func root(text: String, file: String) throws(ConfigError) -> TableReader {
        let locator = KeyLocator(text: text)
        let table = try TOMLDocument.parse(text, file: file, locator: locator)
        return TableReader(table: table, path: [], file: file, locator: locator)
    }

    /// Dotted path of `key` in this table.
    func dotted(_ key: String) -> String { KeyLocator.dotted(path + [key]) }

    /// An error located at `key` (or at element `element` of its array).
    func error(_ code: ConfigError.Code, _ key: String, element: Int? = nil, _ message: String) -> ConfigError {
        let line = element.map { locator.line(of: path + [key], element: $0) } ?? locator.line(of: path + [key])
        return ConfigError(code: code, file: file, line: line, key: dotted(key), message: message)
    }

    /// Refuses any key not in `known`, reporting the one nearest the top of the file.
    func allowOnly(_ known: [String]) throws(ConfigError) {
        guard let key = keysInFileOrder().first(where: { !known.contains($0) }) else { return }
        let isTable: Bool
        if case .table = table[key] { isTable = true } else { isTable = false }
        var message: String
        if path.isEmpty {
            message = isTable ? "unknown table [\(KeyLocator.dotted([key]))]" : "unknown top-level key '\(key)'"
            message += "; valid tables: " + known.map { "[\($0)]" }.joined(separator: ", ")
        } else {
            message = "unknown key '\(key)' in [\(KeyLocator.dotted(path))]; valid keys: " + known.joined(separator: ", ")
        }
        if let guess = Suggestion.nearest(to: key, in: known) {
            message += "; did you mean '\(guess)'?"
        }
        throw error(.unknownKey, key, message)
    }

    /// The sub-table at `key`, or nil if absent; with `known`, any other key in it is refused.
    func table(_ key: String, keys known: [String]?) throws(ConfigError) -> TableReader? {
        guard let value = table[key] else { return nil }
        guard case .table(let sub) = value else {
            let keys = known.map { " (keys: \($0.joined(separator: ", ")))" } ?? ""
            throw error(.badType, key, "\(dotted(key)) must be a table\(keys), got \(value.brief)")
        }
        let reader = TableReader(table: sub, path: path + [key], file: file, locator: locator)
        if let known { try reader.allowOnly(known) }
        return reader
    }

    /// This table's keys, ordered by the line that defines them.
    func keysInFileOrder() -> [String] {
        table.keys.enumerated().sorted { a, b in
            let lineA = locator.line(of: path + [a.element]) ?? .max
            let lineB = locator.line(of: path + [b.element]) ?? .max
            return lineA != lineB ? lineA < lineB : a.offset < b.offset
        }.map(\.element)
    }

    /// The string at `key`, or nil if absent.
    func string(_ key: String) throws(ConfigError) -> String? {
        guard let value = table[key] else { return nil }
        guard case .string(let text) = value else {
            throw error(.badType, key, "\(dotted(key)) must be a string, got \(value.brief)")
        }
        return text
    }

    /// The boolean at `key`, or nil if absent.
    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard case .bool(let flag) = value else {
            throw error(.badType, key, "\(dotted(key)) must be true or false, got \(value.brief)")
        }
        return flag
    }

    /// The integer at `key`, checked against `range` when one is given; nil if absent.
    func integer(_ key: String, in range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int? {
        guard let value = table[key] else { return nil }
        let bounds = range.map { " between \($0.lowerBound) and \($0.upperBound)" } ?? ""
        guard case .integer(let number) = value else {
            throw error(.badType, key, "\(dotted(key)) must be an integer\(bounds), got \(value.brief)")
        }
        if let range, !range.contains(number) {
            throw error(.badValue, key, "\(dotted(key)) must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    /// The array of strings at `key`, or nil if absent; `maxCount` bounds its length.
    func strings(_ key: String, maxCount: Int = 1024) throws(ConfigError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard case .array(let items) = value else {
            throw error(.badType, key, "\(dotted(key)) must be an array of strings, got \(value.brief)")
        }
        guard items.count <= maxCount else {
            throw error(.badValue, key, "\(dotted(key)) may hold at most \(maxCount) entries, got \(items.count)")
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw error(.badType, key, element: index,
                            "\(dotted(key)) must be an array of strings, but entry \(index + 1) is \(item.brief)")
            }
            result.append(text)
        }
        return result
    }

    /// Refuses a repeated entry in `items`, pointing at the line of the repeat.
    func requireUnique(_ items: [String], _ key: String) throws(ConfigError) {
        var seen: Set<String> = []
        for (index, item) in items.enumerated() where !seen.insert(item).inserted {
            throw error(.badValue, key, element: index, "\(dotted(key)) lists '\(item)' more than once")
        }
    }

    /// Unwraps a required value, or throws missingKey located at this table's header.
    func require<T>(_ value: T?, _ key: String, _ what: String) throws(ConfigError) -> T {
        if let value { return value }
        let place = path.isEmpty ? "the file" : "[\(KeyLocator.dotted(path))]"
        throw ConfigError(code: .missingKey, file: file, line: path.isEmpty ? nil : locator.line(of: path),
                          key: dotted(key), message: "\(place) must set \(key) (\(what))")
    }
}
