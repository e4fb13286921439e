/// Strict decoding of a keyid: unpadded URL-safe base64 (RFC 4648 §5), exactly as libsodium's
/// `sodium_base642bin` with `sodium_base64_VARIANT_URLSAFE_NO_PADDING` and no ignored characters accepts it
/// (`SynSodium.Base64URL.decode`): only `A–Z a–z 0–9 - _`, no padding, no whitespace, a length that is not 1 mod 4,
/// and zero unused trailing bits.
enum KeyIDDecoder {
    /// The bytes of `text`, or nil when libsodium would refuse it.
    static func decode(_ text: String) -> [UInt8]? {
        var copy = text
        return copy.withUTF8 { decode($0) }
    }

    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = text.count
        if count == 0 { return [] }
        // libsodium accumulates 6 bits per character and emits a byte per 8; at the end at most 4 bits may be
        // left over and they must be zero.
        let leftoverBits = count * 6 % 8
        guard leftoverBits <= 4 else { return nil }
        let outCount = count * 6 / 8
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: outCount) { buffer, initialized in
            var accumulator: UInt32 = 0
            var bits = 0
            var written = 0
            for byte in text {
                let value = urlValue(byte)
                if value & 0x80 != 0 {
                    valid = false
                    break
                }
                accumulator = (accumulator << 6 | UInt32(value)) & 0xffff
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    buffer[written] = UInt8(truncatingIfNeeded: accumulator >> UInt32(bits))
                    written += 1
                }
            }
            if valid && accumulator & ((1 << UInt32(bits)) - 1) != 0 { valid = false }
            initialized = valid ? written : 0
        }
        return valid ? out : nil
    }

    /// The value of `byte` in the URL-safe alphabet; 0xff for every other byte.
    @inline(__always) private static func urlValue(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte &- UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte &- UInt8(ascii: "a") &+ 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- UInt8(ascii: "0") &+ 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: 0xff
        }
    }
}
