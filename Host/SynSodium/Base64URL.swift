/// URL-safe base64 (RFC 4648 §5) without padding, via libsodium: node and app ids, key ids, audit heads.
public enum Base64URL {
    /// Unpadded URL-safe base64 of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String { SodiumBase64.encode(bytes, variant: SodiumBase64.urlSafeNoPadding) }

    /// The bytes of unpadded URL-safe base64 `s`, or nil for padding, whitespace, other alphabets, impossible
    /// lengths or non-zero trailing bits.
    public static func decode(_ s: String) -> [UInt8]? {
        var copy = s
        return copy.withUTF8 { SodiumBase64.decode($0, variant: SodiumBase64.urlSafeNoPadding) }
    }
}
