import TOMLKit

/// Parses TOML text with TOMLKit into `ConfigValue`s; the only file that sees TOMLKit types.
enum TOMLDocument {
    /// Parses `text`, reporting syntax errors with their line (and the key on it, when the locator finds one).
    static func parse(_ text: String, file: String, locator: KeyLocator) throws(ConfigError) -> ConfigTable {
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            throw ConfigError(code: .syntax, file: file, line: line, key: locator.key(atLine: line),
                              message: "TOML syntax error: the file contains a NUL byte")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let line = error.source.begin.line
            throw ConfigError(code: .syntax, file: file, line: line > 0 ? line : nil,
                              key: line > 0 ? locator.key(atLine: line) : nil,
                              message: "TOML syntax error at column \(error.source.begin.column): \(error.description)")
        } catch {
            throw ConfigError(code: .syntax, file: file, message: "TOML syntax error: \(error)")
        }
        return convert(table)
    }

    private static func convert(_ table: TOMLTable) -> ConfigTable {
        var result = ConfigTable()
        for key in table.keys {
            guard let value = table[key] else { continue }
            result.append(key, convert(value))
        }
        return result
    }

    private static func convert(_ value: any TOMLValueConvertible) -> ConfigValue {
        switch value.type {
        case .table:
            return value.table.map { .table(convert($0)) } ?? .table(ConfigTable())
        case .array:
            guard let array = value.array else { return .array([]) }
            return .array(array.map { convert($0) })
        case .string:
            return .string(value.string ?? "")
        case .int:
            return .integer(value.int ?? 0)
        case .double:
            return .float(value.double ?? 0)
        case .bool:
            return .bool(value.bool ?? false)
        case .date:
            return .dateTime("date")
        case .time:
            return .dateTime("time")
        case .dateTime:
            return .dateTime("date-time")
        }
    }
}
