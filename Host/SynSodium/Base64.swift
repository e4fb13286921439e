import CSynSodium

/// Standard base64 (RFC 4648 §4) with padding, as RFC 8941 byte sequences and RFC 9530 digests use, via
/// libsodium's strict codec: only the standard alphabet, padding only at the end, no whitespace, and zero unused
/// trailing bits, so each byte string has exactly one accepted encoding. (The worker, which does not link
/// libsodium, has its own in `SynText.Base64`; a test holds the two to the same answers.)
public enum Base64 {
    /// Padded standard base64 of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String { SodiumBase64.encode(bytes, variant: SodiumBase64.original) }

    /// Appends the padded standard base64 of `bytes` to `out`.
    public static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: encode(bytes).utf8)
    }

    /// The bytes of padded standard base64 `text`, or nil if it is not canonical.
    public static func decode(_ text: String) -> [UInt8]? {
        var copy = text
        return copy.withUTF8 { decode($0) }
    }

    /// The bytes of padded standard base64 `text`, or nil if it is not canonical.
    public static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        SodiumBase64.decode(text, variant: SodiumBase64.original)
    }

    /// Whether `byte` is in the standard alphabet (`A–Z a–z 0–9 + /`, not the `=` pad).
    public static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"): true
        default: false
        }
    }
}

/// libsodium's base64 codec, one variant at a time.
enum SodiumBase64 {
    static let original = Int32(sodium_base64_VARIANT_ORIGINAL)
    static let urlSafeNoPadding = Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)

    static func encode(_ bytes: [UInt8], variant: Int32) -> String {
        let size = sodium_base64_encoded_len(bytes.count, variant)   // includes the trailing NUL
        var out = [CChar](repeating: 0, count: size)
        _ = sodium_bin2base64(&out, size, bytes, bytes.count, variant)
        return String(decoding: out.prefix(size - 1).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The decoded bytes, or nil unless libsodium consumed all of `text` without ignoring anything.
    static func decode(_ text: UnsafeBufferPointer<UInt8>, variant: Int32) -> [UInt8]? {
        guard let base = text.baseAddress, !text.isEmpty else { return [] }
        var out = [UInt8](repeating: 0, count: text.count * 3 / 4 + 1)
        var length = 0
        let status = base.withMemoryRebound(to: CChar.self, capacity: text.count) { chars in
            sodium_base642bin(&out, out.count, chars, text.count, nil, &length, nil, variant)
        }
        guard status == 0 else { return nil }
        out.removeSubrange(length...)
        return out
    }
}
