import CSynTLS
import SynSodium
#if canImport(Glibc)
import Glibc
#endif

/// One TLS 1.3 session between two nodes, mutually authenticated with raw public keys (RFC 7250): each side
/// presents its node key and checks the other's against its `PeerPolicy`. There is no certificate authority and
/// no name: a peer is its key.
///
/// The session does no I/O of its own. Bytes from the network go in with `receive`, bytes for the network come out
/// of `takeOutput`, so the caller (a NIO channel, a test's socket) owns the connection and its timeouts. Not
/// thread-safe: one caller at a time, as a channel handler is.
public final class TLSSession {
    public enum Role: Sendable { case client, server }

    /// What a read found.
    public enum Read: Equatable, Sendable {
        case data([UInt8])
        /// More bytes from the network are needed.
        case wouldBlock
        /// The peer closed the session (close_notify).
        case closed
    }

    /// TLS 1.3 only, raw public keys only, in both directions.
    static let priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CTYPE-ALL:+CTYPE-SRV-RAWPK:+CTYPE-CLI-RAWPK"

    private let session: gnutls_session_t
    /// A link's: this node's key, and which peer keys it takes.
    private let identity: TLSIdentity?
    private let policy: PeerPolicy?
    /// A web client's: the certificate authorities it trusts (GnuTLS checks the chain and the name).
    private let trust: WebTrust?
    /// For a server reached by address: the typed data GnuTLS checks the certificate's IP address against, which it
    /// keeps a pointer to for the session's life.
    private var addressCheck: (list: UnsafeMutablePointer<gnutls_typed_vdata_st>, bytes: UnsafeMutablePointer<UInt8>)?
    private var input: [UInt8] = []
    private var inputStart = 0
    private var output: [UInt8] = []
    /// Why the peer's key was refused, set by the verify callback.
    private var refusal: TLSError?
    /// The peer's ed25519 key, once the handshake checked it.
    public private(set) var peerKey: [UInt8]?
    public private(set) var isHandshakeComplete = false

    public init(role: Role, identity: TLSIdentity, peer: PeerPolicy) throws(TLSError) {
        let flags = UInt32(role == .server ? GNUTLS_SERVER : GNUTLS_CLIENT) | UInt32(GNUTLS_NONBLOCK)
            | UInt32(GNUTLS_ENABLE_RAWPK.rawValue) | UInt32(GNUTLS_NO_TICKETS) | UInt32(GNUTLS_NO_SIGNAL)
        var made: gnutls_session_t?
        guard gnutls_init(&made, flags) == GNUTLS_E_SUCCESS, let made else { throw TLSError(.identity, "cannot start a TLS session") }
        session = made
        self.identity = identity
        policy = peer
        trust = nil
        var r = gnutls_priority_set_direct(session, Self.priorities, nil)
        if r >= 0 { r = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(identity.credentials)) }
        guard r >= 0 else {
            gnutls_deinit(session)
            throw TLSError(.identity, "GnuTLS refused the session settings: \(Self.text(r))")
        }
        if role == .server { gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE) }
        setTransport()
        gnutls_session_set_verify_function(session) { session in
            guard let session, let ptr = gnutls_session_get_ptr(session) else { return GNUTLS_E_CERTIFICATE_ERROR }
            return Unmanaged<TLSSession>.fromOpaque(ptr).takeUnretainedValue().verifyPeer()
        }
    }

    /// A client session to a web server (`net_request`): TLS 1.2 or 1.3 with X.509 certificates, the chain checked
    /// against `trust` and the certificate against `serverName` (a DNS name, sent as SNI, or an IP address).
    public init(webServer serverName: String, trust: WebTrust) throws(TLSError) {
        let flags = UInt32(GNUTLS_CLIENT) | UInt32(GNUTLS_NONBLOCK) | UInt32(GNUTLS_NO_SIGNAL)
        var made: gnutls_session_t?
        guard gnutls_init(&made, flags) == GNUTLS_E_SUCCESS, let made else { throw TLSError(.identity, "cannot start a TLS session") }
        session = made
        identity = nil
        policy = nil
        self.trust = trust
        let address = WebTrust.addressBytes(serverName)
        var r = gnutls_priority_set_direct(session, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", nil)
        if r >= 0 { r = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(trust.credentials)) }
        if r >= 0, address == nil {
            r = gnutls_server_name_set(session, GNUTLS_NAME_DNS, serverName, serverName.utf8.count)
        }
        guard r >= 0 else {
            gnutls_deinit(session)
            throw TLSError(.identity, "GnuTLS refused the session settings: \(Self.text(r))")
        }
        // GnuTLS verifies the chain and the name (or the address) during the handshake, and fails it otherwise.
        if let address {
            let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: address.count)
            bytes.initialize(from: address, count: address.count)
            let list = UnsafeMutablePointer<gnutls_typed_vdata_st>.allocate(capacity: 1)
            list.initialize(to: gnutls_typed_vdata_st(type: GNUTLS_DT_IP_ADDRESS, data: bytes, size: UInt32(address.count)))
            addressCheck = (list, bytes)
            gnutls_session_set_verify_cert2(session, list, 1, 0)
        } else {
            gnutls_session_set_verify_cert(session, serverName, 0)
        }
        setTransport()
    }

    /// The session's bytes go through `input` and `output`, never a socket.
    private func setTransport() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        gnutls_session_set_ptr(session, me)
        gnutls_transport_set_ptr(session, me)
        gnutls_transport_set_push_function(session) { ptr, data, count in
            guard let ptr, let data else { return -1 }
            let s = Unmanaged<TLSSession>.fromOpaque(ptr).takeUnretainedValue()
            s.output.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
            return count
        }
        gnutls_transport_set_pull_function(session) { ptr, data, count in
            guard let ptr, let data else { return -1 }
            let s = Unmanaged<TLSSession>.fromOpaque(ptr).takeUnretainedValue()
            let available = s.input.count - s.inputStart
            guard available > 0 else {
                gnutls_transport_set_errno(s.session, EAGAIN)
                return -1
            }
            let n = min(available, count)
            s.input.withUnsafeBytes { all in
                data.copyMemory(from: all.baseAddress! + s.inputStart, byteCount: n)
            }
            s.inputStart += n
            if s.inputStart == s.input.count {
                s.input.removeAll(keepingCapacity: true)
                s.inputStart = 0
            }
            return n
        }
    }

    deinit {
        gnutls_deinit(session)
        if let addressCheck {
            addressCheck.list.deallocate()
            addressCheck.bytes.deallocate()
        }
    }

    /// Checks the peer's raw public key against the policy; GnuTLS aborts the handshake on a non-zero answer.
    private func verifyPeer() -> Int32 {
        guard gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) == GNUTLS_CRT_RAWPK else {
            refusal = TLSError(.peerRefused, "the peer presented a certificate, not its node key (RFC 7250 raw public key)")
            return GNUTLS_E_CERTIFICATE_ERROR
        }
        var count: UInt32 = 0
        guard let policy else { return GNUTLS_E_CERTIFICATE_ERROR }
        guard let peers = gnutls_certificate_get_peers(session, &count), count == 1, let data = peers.pointee.data else {
            refusal = TLSError(.peerRefused, "the peer presented no key")
            return GNUTLS_E_CERTIFICATE_ERROR
        }
        let der = Array(UnsafeBufferPointer(start: data, count: Int(peers.pointee.size)))
        guard let key = RawPublicKey.ed25519Key(spki: der) else {
            refusal = TLSError(.peerRefused, "the peer's key is not an ed25519 node key")
            return GNUTLS_E_CERTIFICATE_ERROR
        }
        guard policy.accepts(key) else {
            refusal = TLSError(.peerRefused, "the peer's key \(Self.nodeID(key)) is not the one expected or accepted")
            return GNUTLS_E_CERTIFICATE_ERROR
        }
        peerKey = key
        return 0
    }

    /// Bytes that arrived from the network.
    public func receive(_ bytes: some Sequence<UInt8>) { input.append(contentsOf: bytes) }

    /// The bytes to send to the network now (and forgets them).
    public func takeOutput() -> [UInt8] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    /// Moves the handshake on with what has arrived: true once it is complete, false while it waits for the peer.
    public func handshake() throws(TLSError) -> Bool {
        guard !isHandshakeComplete else { return true }
        let r = gnutls_handshake(session)
        if r == GNUTLS_E_SUCCESS {
            guard peerKey != nil || trust != nil else { throw TLSError(.peerRefused, "the handshake ended without checking the peer's key") }
            isHandshakeComplete = true
            return true
        }
        if r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED { return false }
        if let refusal { throw refusal }
        if r == GNUTLS_E_PREMATURE_TERMINATION { throw TLSError(.closed, "the peer closed the connection during the handshake") }
        if r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR, trust != nil {
            // Why the chain or the name did not verify, as GnuTLS words it.
            let status = gnutls_session_get_verify_cert_status(session)
            var out = gnutls_datum_t()
            if gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0, let data = out.data {
                defer { csyn_gnutls_free(data) }
                throw TLSError(.peerRefused, "the server's certificate: " + String(decoding: UnsafeBufferPointer(start: data, count: Int(out.size)), as: UTF8.self))
            }
        }
        throw TLSError(.handshake, Self.text(r))
    }

    /// Encrypts `plaintext` for the peer (its records then wait in `takeOutput`).
    public func send(_ plaintext: [UInt8]) throws(TLSError) {
        guard isHandshakeComplete else { throw TLSError(.record, "the handshake is not complete") }
        var offset = 0
        while offset < plaintext.count {
            let r = plaintext.withUnsafeBytes { all in
                gnutls_record_send(session, all.baseAddress! + offset, all.count - offset)
            }
            // The push function never blocks: AGAIN cannot happen, and any negative value is an error.
            guard r > 0 else { throw TLSError(.record, Self.text(Int32(clamping: r))) }
            offset += r
        }
    }

    /// Whether bytes that arrived are not decrypted yet. GnuTLS can answer "again" after a post-handshake message (a
    /// TLS 1.3 session ticket) with records still waiting behind it.
    public var hasBufferedInput: Bool { input.count - inputStart > 0 || gnutls_record_check_pending(session) > 0 }

    /// Decrypts what has arrived, at most `limit` bytes.
    public func read(limit: Int = 16384) throws(TLSError) -> Read {
        var buffer = [UInt8](repeating: 0, count: limit)
        let r = buffer.withUnsafeMutableBytes { gnutls_record_recv(session, $0.baseAddress, $0.count) }
        if r > 0 { return .data(Array(buffer.prefix(r))) }
        if r == 0 { return .closed }
        if r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED { return .wouldBlock }
        throw TLSError(.record, Self.text(Int32(clamping: r)))
    }

    /// Says goodbye (close_notify); the connection may then be closed once `takeOutput` is sent.
    public func close() {
        if isHandshakeComplete { _ = gnutls_bye(session, GNUTLS_SHUT_WR) }
    }

    /// GnuTLS's message for an error code.
    static func text(_ code: Int32) -> String {
        guard let message = gnutls_strerror(code) else { return "GnuTLS error \(code)" }
        return String(cString: message)
    }

    /// A key as `keys show` prints it: base64url.
    static func nodeID(_ key: [UInt8]) -> String { Base64URL.encode(key) }
}
