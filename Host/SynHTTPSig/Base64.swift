/// Standard base64 (RFC 4648 §4) with padding, as RFC 8941 byte sequences and RFC 9530 digests use.
///
/// Decoding is strict: only the standard alphabet, length a multiple of four, padding only at the end, and zero
/// unused trailing bits, so each byte string has exactly one accepted encoding.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Padded standard base64 of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(triple >> 18 & 63)])
            out.append(alphabet[Int(triple >> 12 & 63)])
            out.append(index + 1 < bytes.count ? alphabet[Int(triple >> 6 & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(triple & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of padded standard base64 `text`, or nil if it is not canonical.
    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }

    /// The bytes of padded standard base64 `text`, or nil if it is not canonical.
    public static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var index = 0
        while index < text.count {
            let isLast = index + 4 == text.count
            let padding = isLast ? (text[index + 3] == pad ? (text[index + 2] == pad ? 2 : 1) : 0) : 0
            var quad: UInt32 = 0
            for offset in 0..<4 {
                let char = text[index + offset]
                if offset >= 4 - padding {
                    quad <<= 6
                    continue
                }
                guard let value = value(of: char) else { return nil }
                quad = quad << 6 | UInt32(value)
            }
            out.append(UInt8(quad >> 16 & 0xff))
            if padding < 2 { out.append(UInt8(quad >> 8 & 0xff)) }
            if padding < 1 { out.append(UInt8(quad & 0xff)) }
            // Unused bits must be zero (canonical encoding).
            if padding == 1 && quad & 0xff != 0 { return nil }
            if padding == 2 && quad & 0xffff != 0 { return nil }
            index += 4
        }
        return out
    }

    /// Whether `byte` is in the standard alphabet (excluding `=`).
    static func isAlphabet(_ byte: UInt8) -> Bool { value(of: byte) != nil }

    private static let pad = UInt8(ascii: "=")

    private static func value(of char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): char - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): char - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
