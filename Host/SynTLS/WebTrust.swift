import CSynTLS
#if canImport(Glibc)
import Glibc
#endif

/// The certificate authorities a web client trusts: the system's store, and optionally a PEM file of more (node.toml
/// `[fetch] ca_file`, e.g. a test's or a LAN's own authority). Made once and shared by every session.
public final class WebTrust: @unchecked Sendable {
    let credentials: gnutls_certificate_credentials_t

    public init(systemStore: Bool = true, caFile: String? = nil) throws(TLSError) {
        var made: gnutls_certificate_credentials_t?
        guard gnutls_certificate_allocate_credentials(&made) == GNUTLS_E_SUCCESS, let made else {
            throw TLSError(.identity, "cannot allocate TLS credentials")
        }
        // Without the system's store (no ca-certificates package) only `caFile` is trusted, if there is one.
        if systemStore, gnutls_certificate_set_x509_system_trust(made) <= 0, caFile == nil {
            gnutls_certificate_free_credentials(made)
            throw TLSError(.identity, "cannot read the system's certificate authorities (install the Debian package ca-certificates)")
        }
        if let caFile {
            let added = gnutls_certificate_set_x509_trust_file(made, caFile, GNUTLS_X509_FMT_PEM)
            guard added > 0 else {
                gnutls_certificate_free_credentials(made)
                throw TLSError(.identity, "no certificate authority could be read from \(caFile) (node.toml [fetch] ca_file): \(added < 0 ? TLSSession.text(added) : "the file holds none")")
            }
        }
        credentials = made
    }

    deinit { gnutls_certificate_free_credentials(credentials) }

    /// The binary form of an IPv4 or IPv6 address, or nil for a name.
    static func addressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}
