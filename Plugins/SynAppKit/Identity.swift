import PluginABI

/// The app's own ed25519 identity (`identity.sign`). The private key stays in the host: the app asks it to sign.
public struct Identity: Sendable {
    let host: Host

    /// The app's 32-byte public key.
    public func publicKey() throws(HostError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let status = out.withUnsafeMutableBufferPointer { host.table.pointee.id_public_key(host.ctx, $0.baseAddress) }
        try host.check(status, "id_public_key")
        return out
    }

    /// A 64-byte signature of `message` in this app's domain (verifiable with the app's key and `docs/abi.md`'s
    /// domain rule, never as another app's or the node's).
    public func sign(_ message: [UInt8]) throws(HostError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        let status = Host.withBuf(message) { m in
            out.withUnsafeMutableBufferPointer { host.table.pointee.id_sign(host.ctx, m, $0.baseAddress) }
        }
        try host.check(status, "id_sign")
        return out
    }

    /// Whether `signature` is this app's domain signature of `message` by `publicKey`.
    public func verify(publicKey: [UInt8], message: [UInt8], signature: [UInt8]) -> Bool {
        guard publicKey.count == 32, signature.count == 64 else { return false }
        return publicKey.withUnsafeBufferPointer { k in
            signature.withUnsafeBufferPointer { s in
                Host.withBuf(message) { m in host.table.pointee.id_verify(host.ctx, k.baseAddress, m, s.baseAddress) == SYN_OK }
            }
        }
    }
}
