/// Just enough SQL lexing to check what SQLite's parser cannot tell the authorizer: whether text after a
/// statement is blank, and which keyword a statement starts with.
enum SQLScanner {
    /// Whether `text[from...]` holds only whitespace, semicolons and comments (a NUL byte ends the text).
    static func isBlank(_ text: [UInt8], from start: Int) -> Bool {
        var index = start
        while index < text.count, text[index] != 0 {
            if let next = skipTrivia(text, index), next > index {
                index = next
            } else if text[index] == UInt8(ascii: ";") {
                index += 1
            } else {
                return false
            }
        }
        return true
    }

    /// The first `count` words of `text[start..<end]`, lowercased; quoted identifiers give their content,
    /// anything else (literals, punctuation) a one-character word.
    static func leadingWords(_ text: [UInt8], from start: Int, to end: Int, count: Int) -> [String] {
        var words: [String] = []
        var index = start
        let end = min(end, text.count)
        while index < end, words.count < count {
            if let next = skipTrivia(text, index), next > index {
                index = next
                continue
            }
            let byte = text[index]
            if isWordByte(byte) {
                var stop = index
                while stop < end, isWordByte(text[stop]) { stop += 1 }
                words.append(String(decoding: text[index..<stop], as: UTF8.self).lowercased())
                index = stop
            } else if let close = closingQuote(byte) {
                var stop = index + 1
                while stop < end, text[stop] != close { stop += 1 }
                words.append(String(decoding: text[(index + 1)..<stop], as: UTF8.self).lowercased())
                index = stop + 1
            } else {
                words.append(String(decoding: [byte], as: UTF8.self))
                index += 1
            }
        }
        return words
    }

    /// The index after whitespace or a comment at `index`, or nil if there is none there.
    private static func skipTrivia(_ text: [UInt8], _ index: Int) -> Int? {
        let byte = text[index]
        if byte == 0x20 || (0x09...0x0D).contains(byte) { return index + 1 }
        let next = index + 1 < text.count ? text[index + 1] : 0
        if byte == UInt8(ascii: "-"), next == UInt8(ascii: "-") {
            var stop = index + 2
            while stop < text.count, text[stop] != 0x0A, text[stop] != 0 { stop += 1 }
            return stop
        }
        if byte == UInt8(ascii: "/"), next == UInt8(ascii: "*") {
            var stop = index + 2
            while stop < text.count, text[stop] != 0 {
                if text[stop] == UInt8(ascii: "*"), stop + 1 < text.count, text[stop + 1] == UInt8(ascii: "/") {
                    return stop + 2
                }
                stop += 1
            }
            return stop
        }
        return nil
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
    }

    /// The closing character of a quoted identifier opened by `byte`.
    private static func closingQuote(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\""): UInt8(ascii: "\"")
        case UInt8(ascii: "`"): UInt8(ascii: "`")
        case UInt8(ascii: "["): UInt8(ascii: "]")
        default: nil
        }
    }
}
