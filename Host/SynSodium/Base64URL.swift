import CSynSodium

/// URL-safe base64 (RFC 4648 §5) without padding, via libsodium.
public enum Base64URL {
    private static let variant = Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)

    /// Unpadded URL-safe base64 of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        let size = sodium_base64_encoded_len(bytes.count, variant)   // includes the trailing NUL
        var out = [CChar](repeating: 0, count: size)
        _ = sodium_bin2base64(&out, size, bytes, bytes.count, variant)
        return String(decoding: out.prefix(size - 1).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes of unpadded URL-safe base64 `s`, or nil for padding, whitespace, other alphabets, impossible
    /// lengths or non-zero trailing bits.
    public static func decode(_ s: String) -> [UInt8]? {
        let text = s.utf8.map { CChar(bitPattern: $0) }
        if text.isEmpty { return [] }
        var out = [UInt8](repeating: 0, count: text.count * 3 / 4 + 1)
        var length = 0
        let status = sodium_base642bin(&out, out.count, text, text.count, nil, &length, nil, variant)
        guard status == 0 else { return nil }
        return Array(out.prefix(length))
    }
}
