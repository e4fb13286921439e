/// Short, printable quotations of hostile input for error messages.
enum Excerpt {
    /// Default number of bytes quoted.
    static let defaultLength = 48

    /// `bytes` as a double-quoted string: at most `limit` bytes, non-printable ASCII shown as `\xNN`, and `…(N bytes)`
    /// appended when cut.
    static func quote(_ bytes: some Collection<UInt8>, limit: Int = defaultLength) -> String {
        var out = "\""
        for byte in bytes.prefix(limit) {
            if byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + hex(byte)
            }
        }
        out += "\""
        if bytes.count > limit { out += "…(\(bytes.count) bytes)" }
        return out
    }

    /// `text` quoted as for bytes.
    static func quote(_ text: String, limit: Int = defaultLength) -> String { quote(Array(text.utf8), limit: limit) }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0f)])
    }
}
