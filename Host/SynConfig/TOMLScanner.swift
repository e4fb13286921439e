/// A byte cursor over TOML text that counts lines.
struct TOMLScanner {
    let bytes: [UInt8]
    var index = 0
    var line = 1

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "-")
    }

    func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    mutating func advance() {
        guard index < bytes.count else { return }
        if bytes[index] == UInt8(ascii: "\n") { line += 1 }
        index += 1
    }

    mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    /// Skips whitespace, newlines and comments.
    mutating func skipBlankLinesAndComments() {
        while let byte = peek() {
            if byte == UInt8(ascii: "#") {
                while let next = peek(), next != UInt8(ascii: "\n") { advance() }
            } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r") {
                advance()
            } else {
                break
            }
        }
    }

    /// Skips to just past the end of the current line.
    mutating func skipRestOfLine() {
        while let byte = peek() {
            advance()
            if byte == UInt8(ascii: "\n") { break }
        }
    }

    /// Reads a dotted key (bare or quoted segments), stopping before `=`, `]` or anything unexpected.
    mutating func keyPath() -> [String] {
        var path: [String] = []
        while true {
            skipSpaces()
            guard let byte = peek() else { break }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                path.append(quotedKey(byte))
            } else if TOMLScanner.isBareKeyByte(byte) {
                let start = index
                while let next = peek(), TOMLScanner.isBareKeyByte(next) { advance() }
                path.append(String(decoding: bytes[start..<index], as: UTF8.self))
            } else {
                break
            }
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { break }
            advance()
        }
        return path
    }

    /// Reads a single-line quoted key, decoding the simple escapes of basic strings.
    private mutating func quotedKey(_ quote: UInt8) -> String {
        advance()
        var out: [UInt8] = []
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            advance()
            if byte == quote { break }
            if quote == UInt8(ascii: "\""), byte == UInt8(ascii: "\\"), let escaped = peek() {
                advance()
                switch escaped {
                case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
                default: out.append(escaped)
                }
                continue
            }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Skips a basic, literal or multi-line string starting at the cursor.
    mutating func skipString() {
        guard let quote = peek() else { return }
        let escapes = quote == UInt8(ascii: "\"")
        if peek(1) == quote, peek(2) == quote {
            advance(); advance(); advance()
            while let byte = peek() {
                if escapes, byte == UInt8(ascii: "\\") { advance(); advance(); continue }
                if byte == quote, peek(1) == quote, peek(2) == quote {
                    advance(); advance(); advance()
                    // Up to two more quotes may belong to the content: """a""""" ends with a".
                    if peek() == quote { advance() }
                    if peek() == quote { advance() }
                    return
                }
                advance()
            }
            return
        }
        advance()
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            advance()
            if byte == quote { return }
            if escapes, byte == UInt8(ascii: "\\"), peek() != UInt8(ascii: "\n") { advance() }
        }
    }

    /// Skips a whole array or inline table without recursion (for nesting deeper than the scanner follows).
    mutating func skipBalanced() {
        var depth = 0
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                skipString()
                continue
            case UInt8(ascii: "#"):
                while let next = peek(), next != UInt8(ascii: "\n") { advance() }
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            default:
                break
            }
            advance()
            if depth <= 0 { return }
        }
    }

    /// Skips a number, boolean or date up to a delimiter.
    mutating func skipScalar() {
        while let byte = peek(), byte != UInt8(ascii: ","), byte != UInt8(ascii: "]"), byte != UInt8(ascii: "}"),
              byte != UInt8(ascii: "#"), byte != UInt8(ascii: "\n") {
            advance()
        }
    }
}
