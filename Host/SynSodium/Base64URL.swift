import CSynSodium

/// URL-safe base64 (RFC 4648 §5) without padding, via libsodium.
public enum Base64URL {
    /// Unpadded URL-safe base64 of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        let variant = Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)
        let size = sodium_base64_encoded_len(bytes.count, variant)   // includes the trailing NUL
        var out = [CChar](repeating: 0, count: size)
        _ = out.withUnsafeMutableBufferPointer { text in
            bytes.withUnsafeBufferPointer { bin in
                sodium_bin2base64(text.baseAddress, size, bin.baseAddress, bin.count, variant)
            }
        }
        return String(decoding: out.prefix(size - 1).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes of unpadded URL-safe base64 `s`, or nil for padding, whitespace, other alphabets, impossible
    /// lengths or non-zero trailing bits.
    public static func decode(_ s: String) -> [UInt8]? {
        let text = Array(s.utf8)
        if text.isEmpty { return [] }
        var out = [UInt8](repeating: 0, count: text.count * 3 / 4 + 1)
        var length = 0
        let variant = Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)
        let status = out.withUnsafeMutableBufferPointer { bin in
            text.withUnsafeBufferPointer { b64 in
                b64.withMemoryRebound(to: CChar.self) { chars in
                    sodium_base642bin(bin.baseAddress, bin.count, chars.baseAddress, chars.count, nil, &length,
                                      nil, variant)
                }
            }
        }
        guard status == 0 else { return nil }
        return Array(out.prefix(length))
    }
}
