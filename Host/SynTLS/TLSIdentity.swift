import CSynTLS
public import SynSodium

/// A node's TLS identity: its ed25519 key, presented as an RFC 7250 raw public key (no certificate, no authority).
/// GnuTLS never holds the secret: it asks the node's `SigningKey` to sign each handshake, so the key stays in the
/// guarded memory it was loaded into. The credentials are made once and shared by every session.
public final class TLSIdentity: @unchecked Sendable {
    let credentials: gnutls_certificate_credentials_t
    public let publicKey: [UInt8]

    public init(key: SigningKey) throws(TLSError) {
        var made: gnutls_certificate_credentials_t?
        guard gnutls_certificate_allocate_credentials(&made) == GNUTLS_E_SUCCESS, let made else {
            throw TLSError(.identity, "cannot allocate TLS credentials")
        }
        do throws(TLSError) {
            try Self.setKey(key, in: made)
        } catch {
            gnutls_certificate_free_credentials(made)
            throw error
        }
        credentials = made
        publicKey = key.publicKey
    }

    deinit { gnutls_certificate_free_credentials(credentials) }

    /// The raw public key and a private key whose signatures `key` makes; both then belong to `credentials`.
    private static func setKey(_ key: SigningKey, in credentials: gnutls_certificate_credentials_t) throws(TLSError) {
        var spki = RawPublicKey.spki(key.publicKey)
        var pcert = gnutls_pcert_st()
        var r = spki.withUnsafeMutableBytes { s in
            var datum = gnutls_datum_t(data: s.baseAddress?.assumingMemoryBound(to: UInt8.self), size: UInt32(s.count))
            return gnutls_pcert_import_rawpk_raw(&pcert, &datum, GNUTLS_X509_FMT_DER, 0, 0)
        }
        guard r >= 0 else { throw TLSError(.identity, "GnuTLS refused the node's public key: \(TLSSession.text(r))") }
        var privkey: gnutls_privkey_t?
        guard gnutls_privkey_init(&privkey) >= 0, let privkey else {
            gnutls_pcert_deinit(&pcert)
            throw TLSError(.identity, "cannot allocate a TLS private key")
        }
        let signer = Unmanaged.passRetained(key).toOpaque()
        r = gnutls_privkey_import_ext4(privkey, signer, Self.signData, nil, nil, Self.release, Self.info, 0)
        guard r >= 0 else {
            Unmanaged<SigningKey>.fromOpaque(signer).release()
            gnutls_privkey_deinit(privkey)
            gnutls_pcert_deinit(&pcert)
            throw TLSError(.identity, "GnuTLS refused the node's signing key: \(TLSSession.text(r))")
        }
        // From here the credentials own the public key and the private key (and through it the signer).
        r = gnutls_certificate_set_key(credentials, nil, 0, &pcert, 1, privkey)
        // On failure GnuTLS leaves the credentials "undefined" and does not say what it kept: the two keys are
        // leaked rather than risk freeing them twice (this happens only with a broken GnuTLS, once at start).
        guard r >= 0 else { throw TLSError(.identity, "GnuTLS refused the node's key pair: \(TLSSession.text(r))") }
    }

    /// What TLS 1.3 signs (RFC 8446 §4.4.3): 64 spaces, the context string, a zero byte, then the transcript
    /// hash. The node key signs nothing else through TLS: its other signatures are domain-separated, and this
    /// prefix is what keeps a TLS signature from ever being one of them.
    static let contexts = ["TLS 1.3, server CertificateVerify", "TLS 1.3, client CertificateVerify"].map {
        [UInt8](repeating: 0x20, count: 64) + Array($0.utf8) + [0]
    }

    static func isCertificateVerify(_ message: [UInt8]) -> Bool {
        contexts.contains { message.count > $0.count && message.starts(with: $0) }
    }

    /// Signs a handshake: pure Ed25519 over the data, as TLS 1.3 asks, by the node's own key.
    private static let signData: gnutls_privkey_sign_data_func = { _, algorithm, userdata, _, data, signature in
        guard let userdata, let data, let signature else { return GNUTLS_E_INVALID_REQUEST }
        guard algorithm == GNUTLS_SIGN_EDDSA_ED25519 else { return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM }
        let key = Unmanaged<SigningKey>.fromOpaque(userdata).takeUnretainedValue()
        let message = data.pointee.data.map { Array(UnsafeBufferPointer(start: $0, count: Int(data.pointee.size))) } ?? []
        guard isCertificateVerify(message) else { return GNUTLS_E_INVALID_REQUEST }
        let made = key.sign(message)
        guard let out = csyn_gnutls_malloc(made.count) else { return GNUTLS_E_MEMORY_ERROR }
        made.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: made.count) }
        signature.pointee.data = out.assumingMemoryBound(to: UInt8.self)
        signature.pointee.size = UInt32(made.count)
        return 0
    }

    /// What the key is: Ed25519, signing with EdDSA only.
    private static let info: gnutls_privkey_info_func = { _, flags, _ in
        if flags & UInt32(GNUTLS_PRIVKEY_INFO_PK_ALGO) != 0 { return Int32(GNUTLS_PK_EDDSA_ED25519.rawValue) }
        if flags & UInt32(GNUTLS_PRIVKEY_INFO_SIGN_ALGO) != 0 { return Int32(GNUTLS_SIGN_EDDSA_ED25519.rawValue) }
        if flags & UInt32(GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) != 0 {
            return flags >> 20 == GNUTLS_SIGN_EDDSA_ED25519.rawValue ? 1 : 0
        }
        return GNUTLS_E_UNKNOWN_PK_ALGORITHM
    }

    private static let release: gnutls_privkey_deinit_func = { _, userdata in
        if let userdata { Unmanaged<SigningKey>.fromOpaque(userdata).release() }
    }
}
