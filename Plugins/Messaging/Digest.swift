import Crypto

/// SHA-256 for content addresses, from swift-crypto (BoringSSL, linked into Messaging alone).
enum Digest {
    /// The lowercase hex of `bytes`' SHA-256.
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
