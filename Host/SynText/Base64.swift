/// Standard base64 (RFC 4648 §4) with padding, as RFC 8941 byte sequences and RFC 9530 digests use.
///
/// Decoding is strict: only the standard alphabet, length a multiple of four, padding only at the end, and zero
/// unused trailing bits, so each byte string has exactly one accepted encoding.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Padded standard base64 of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the padded standard base64 of `bytes` to `out`.
    public static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
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
    }

    /// The bytes of padded standard base64 `text`, or nil if it is not canonical.
    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }

    /// The bytes of padded standard base64 `text`, or nil if it is not canonical.
    public static func decode(_ text: [UInt8]) -> [UInt8]? { text.withUnsafeBufferPointer { decode($0) } }

    /// The bytes of padded standard base64 `text`, or nil if it is not canonical.
    public static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = text.count
        guard count % 4 == 0 else { return nil }
        if count == 0 { return [] }
        // Padding is only recognised in the last quad: "xx==" (2) or "xxx=" (1). Anywhere else `=` is refused as
        // outside the alphabet.
        let padding = text[count - 1] == pad ? (text[count - 2] == pad ? 2 : 1) : 0
        let outCount = count / 4 * 3 - padding
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: outCount) { buffer, initialized in
            var index = 0
            var written = 0
            // Full quads (all but the last when it is padded).
            let fullEnd = padding == 0 ? count : count - 4
            while index < fullEnd {
                let v0 = value(text[index]), v1 = value(text[index + 1])
                let v2 = value(text[index + 2]), v3 = value(text[index + 3])
                if (v0 | v1 | v2 | v3) & 0x80 != 0 {
                    valid = false
                    break
                }
                let quad = UInt32(v0) << 18 | UInt32(v1) << 12 | UInt32(v2) << 6 | UInt32(v3)
                buffer[written] = UInt8(quad >> 16 & 0xff)
                buffer[written + 1] = UInt8(quad >> 8 & 0xff)
                buffer[written + 2] = UInt8(quad & 0xff)
                written += 3
                index += 4
            }
            if valid && padding > 0 {
                let v0 = value(text[index]), v1 = value(text[index + 1])
                let v2 = padding == 1 ? value(text[index + 2]) : 0
                if (v0 | v1 | v2) & 0x80 != 0 {
                    valid = false
                } else {
                    let quad = UInt32(v0) << 18 | UInt32(v1) << 12 | UInt32(v2) << 6
                    buffer[written] = UInt8(quad >> 16 & 0xff)
                    written += 1
                    if padding == 1 {
                        buffer[written] = UInt8(quad >> 8 & 0xff)
                        written += 1
                        // Unused bits must be zero (canonical encoding).
                        if quad & 0xff != 0 { valid = false }
                    } else if quad & 0xffff != 0 {
                        valid = false
                    }
                }
            }
            if valid {
                initialized = written
            } else {
                initialized = 0
            }
        }
        return valid ? out : nil
    }

    /// Whether `byte` is in the standard alphabet (excluding `=`).
    public static func isAlphabet(_ byte: UInt8) -> Bool { value(byte) & 0x80 == 0 }

    private static let pad = UInt8(ascii: "=")

    /// The value of `byte` in the standard alphabet; 0xff for every other byte (including `=`).
    @inline(__always) private static func value(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte &- UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte &- UInt8(ascii: "a") &+ 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- UInt8(ascii: "0") &+ 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: 0xff
        }
    }
}
