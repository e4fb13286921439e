/// Finds the 1-based source line of dotted keys in TOML text, which TOMLKit does not report.
///
/// A lenient scanner: it tracks `[table]` and `[[table]]` headers, `key =` and dotted `a.b =` keys, keys inside
/// inline tables, and the line of each element of an array value. Strings and comments are skipped properly, so
/// their contents never look like keys. Malformed text yields fewer entries, never a crash.
struct KeyLocator {
    /// Where one key (or table header) was first defined.
    struct Entry {
        var line: Int
        var endLine: Int
        var elementLines: [Int] = []
    }

    private(set) var entries: [[String]: Entry] = [:]
    private var order: [[String]] = []

    init(text: String) {
        var scanner = TOMLScanner(bytes: Array(text.utf8))
        var table: [String] = []
        while true {
            scanner.skipBlankLinesAndComments()
            guard let byte = scanner.peek() else { break }
            let line = scanner.line
            let start = scanner.index
            if byte == UInt8(ascii: "[") {
                scanner.advance()
                if scanner.peek() == UInt8(ascii: "[") { scanner.advance() }
                table = scanner.keyPath()
                record(table, Entry(line: line, endLine: line))
            } else {
                let key = scanner.keyPath()
                scanner.skipSpaces()
                if !key.isEmpty, scanner.peek() == UInt8(ascii: "=") {
                    scanner.advance()
                    scanValue(&scanner, path: table + key, keyLine: line)
                }
            }
            scanner.skipRestOfLine()
            if scanner.index == start { scanner.advance() }
        }
    }

    /// The line defining `path`; for an implicit table, the first line of any key beneath it.
    func line(of path: [String]) -> Int? {
        if let entry = entries[path] { return entry.line }
        var best: Int?
        for (other, entry) in entries where other.count > path.count && Array(other.prefix(path.count)) == path {
            best = min(best ?? entry.line, entry.line)
        }
        return best
    }

    /// The line of element `index` of the array at `path`, falling back to the key's line.
    func line(of path: [String], element index: Int) -> Int? {
        if let entry = entries[path], index >= 0, index < entry.elementLines.count {
            return entry.elementLines[index]
        }
        return line(of: path)
    }

    /// The dotted key whose definition spans `line`, if any: the one starting last, and of those the outermost
    /// (on a line like `a = { b = 1, c = 2 }` the error may be in either inner key).
    func key(atLine line: Int) -> String? {
        var found: [String]?
        var foundLine = 0
        for path in order {
            guard let entry = entries[path], entry.line <= line, line <= entry.endLine else { continue }
            if found == nil || entry.line > foundLine || (entry.line == foundLine && path.count < (found?.count ?? 0)) {
                found = path
                foundLine = entry.line
            }
        }
        return found.map(KeyLocator.dotted)
    }

    /// Joins key segments with dots, quoting segments that are not bare keys.
    static func dotted(_ path: [String]) -> String {
        path.map { segment in
            let bare = !segment.isEmpty && segment.utf8.allSatisfy(TOMLScanner.isBareKeyByte)
            return bare ? segment : "\"\(segment)\""
        }.joined(separator: ".")
    }

    private mutating func record(_ path: [String], _ entry: Entry) {
        guard !path.isEmpty, entries[path] == nil else { return }
        entries[path] = entry
        order.append(path)
    }

    /// Nesting followed recursively; deeper values are skipped whole (TOMLKit refuses more than 256 anyway).
    private static let maxDepth = 300

    /// Scans one value; records it under `path` when a path is given (values inside arrays have none).
    private mutating func scanValue(_ scanner: inout TOMLScanner, path: [String]?, keyLine: Int, depth: Int = 0) {
        scanner.skipSpaces()
        guard let byte = scanner.peek() else { return }
        var elementLines: [Int] = []
        let opens = byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{")
        switch byte {
        case _ where opens && depth >= KeyLocator.maxDepth:
            scanner.skipBalanced()
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            scanner.skipString()
        case UInt8(ascii: "["):
            scanner.advance()
            while true {
                scanner.skipBlankLinesAndComments()
                guard let next = scanner.peek() else { break }
                if next == UInt8(ascii: "]") { scanner.advance(); break }
                if next == UInt8(ascii: ",") { scanner.advance(); continue }
                let before = scanner.index
                elementLines.append(scanner.line)
                scanValue(&scanner, path: nil, keyLine: scanner.line, depth: depth + 1)
                if scanner.index == before { scanner.advance() }
            }
        case UInt8(ascii: "{"):
            scanner.advance()
            while true {
                scanner.skipBlankLinesAndComments()
                guard let next = scanner.peek() else { break }
                if next == UInt8(ascii: "}") { scanner.advance(); break }
                if next == UInt8(ascii: ",") { scanner.advance(); continue }
                let before = scanner.index
                let line = scanner.line
                let key = scanner.keyPath()
                scanner.skipSpaces()
                if !key.isEmpty, scanner.peek() == UInt8(ascii: "=") {
                    scanner.advance()
                    scanValue(&scanner, path: path.map { $0 + key }, keyLine: line, depth: depth + 1)
                }
                if scanner.index == before { scanner.advance() }
            }
        default:
            scanner.skipScalar()
        }
        if let path {
            record(path, Entry(line: keyLine, endLine: scanner.line, elementLines: elementLines))
        }
    }
}
