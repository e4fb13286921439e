import CSynSodium

/// Lowercase hexadecimal text, via libsodium's constant-time codec.
public enum Hex {
    /// Lowercase hex of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: bytes.count * 2 + 1)
        _ = sodium_bin2hex(&out, out.count, bytes, bytes.count)
        return String(decoding: out.prefix(bytes.count * 2).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes of `s` (upper- or lowercase digits), or nil for an odd length or any non-hex character.
    public static func decode(_ s: String) -> [UInt8]? {
        let text = s.utf8.map { CChar(bitPattern: $0) }
        guard text.count % 2 == 0 else { return nil }
        if text.isEmpty { return [] }
        var out = [UInt8](repeating: 0, count: text.count / 2)
        var length = 0
        guard sodium_hex2bin(&out, out.count, text, text.count, nil, &length, nil) == 0, length == out.count else { return nil }
        return out
    }
}
