import Foundation
import SynSodium
import SynTLS
import SynTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The node's TLS against a third-party peer: `gnutls-cli` (package gnutls-bin, which `make test` installs) with
/// raw public keys made by `certtool`, over a real TCP connection.
@Suite struct GnuTLSInteropTests {
    static let available = FileManager.default.isExecutableFile(atPath: "/usr/bin/gnutls-cli")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/certtool")
    /// CI sets it after `make test` installed gnutls-bin: a missing peer is then a failure, not a skip.
    static let required = ProcessInfo.processInfo.environment["SYN_REQUIRE_INTEROP"] == "1"
    static let rawKeys = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CTYPE-ALL:+CTYPE-SRV-RAWPK:+CTYPE-CLI-RAWPK"

    /// An ed25519 key pair made by certtool: its PEM files, and its public key.
    struct ThirdPartyKey {
        let keyFile: String
        let publicFile: String
        let publicKey: [UInt8]

        init(in dir: TempDir, _ name: String) throws {
            keyFile = dir.file(name + ".key")
            publicFile = dir.file(name + ".pub")
            let made = try ProcessLauncher.run("/usr/bin/certtool", ["--generate-privkey", "--key-type=ed25519", "--outfile", keyFile])
            try #require(made.status == 0, "\(made.output)")
            let pub = try ProcessLauncher.run("/usr/bin/certtool", ["--load-privkey", keyFile, "--pubkey-info", "--outfile", publicFile])
            try #require(pub.status == 0, "\(pub.output)")
            let pem = try String(contentsOfFile: publicFile, encoding: .utf8)
            // certtool writes a description, then the PEM block.
            let lines = pem.split(separator: "\n").drop { $0 != "-----BEGIN PUBLIC KEY-----" }.dropFirst()
            let body = lines.prefix { !$0.hasPrefix("-----END") }.joined()
            publicKey = try #require(Base64.decode(body).flatMap(RawPublicKey.ed25519Key(spki:)))
        }
    }

    /// Accepts one connection on a loopback port and runs a server session over it until the handshake ends.
    static func serveOnce(_ identity: TLSIdentity, accepting: @escaping @Sendable ([UInt8]) -> Bool,
                          client: (Int) throws -> ChildProcess) throws -> (handshake: Result<Bool, TLSError>, peer: [UInt8]?, client: String) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        try #require(bound)
        let child = try client(Int(UInt16(bigEndian: address.sin_port)))
        defer { child.signal() }
        var pollfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        try #require(poll(&pollfd, 1, 20_000) == 1, "the client did not connect")
        let connection = accept(listener, nil, nil)
        try #require(connection >= 0)
        defer { close(connection) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let session = try TLSSession(role: .server, identity: identity, peer: .accepting(accepting))
        var result: Result<Bool, TLSError> = .success(false)
        var buffer = [UInt8](repeating: 0, count: 16384)
        for _ in 0..<64 {
            result = Result { () throws(TLSError) in try session.handshake() }
            let out = session.takeOutput()
            if !out.isEmpty { _ = out.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            guard case .success(false) = result else { break }
            let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            session.receive(buffer[0..<n])
        }
        if case .success(true) = result { session.close(); let bye = session.takeOutput(); _ = bye.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        shutdown(connection, Int32(SHUT_RDWR))
        let output = child.readOutput()
        child.wait()
        return (result, session.peerKey, output)
    }

    @Test(.enabled(if: available || required, "gnutls-cli is not installed (apt-get install gnutls-bin; make test installs it)"))
    func gnutlsCliWithTheAcceptedKeyCompletesAHandshake() throws {
        let dir = TempDir("tls-interop")
        let peer = try ThirdPartyKey(in: dir, "peer")
        let node = try TLSIdentity(key: try SigningKey.generate())
        let expected = peer.publicKey
        let run = try Self.serveOnce(node, accepting: { $0 == expected }) { port in
            try ChildProcess("/usr/bin/gnutls-cli", ["--port", "\(port)", "127.0.0.1", "--priority", Self.rawKeys,
                                                     "--rawpkkeyfile", peer.keyFile, "--rawpkfile", peer.publicFile,
                                                     "--no-ca-verification"], stderr: .stdout)
        }
        #expect(try run.handshake.get(), "\(run.client)")
        #expect(run.peer == expected)
        #expect(run.client.contains("Handshake was completed"), "\(run.client)")
    }

    @Test(.enabled(if: available || required, "gnutls-cli is not installed (apt-get install gnutls-bin; make test installs it)"))
    func gnutlsCliWithAnotherKeyIsRefused() throws {
        let dir = TempDir("tls-interop")
        let stranger = try ThirdPartyKey(in: dir, "stranger")
        let expected = try SigningKey.generate().publicKey
        let run = try Self.serveOnce(try TLSIdentity(key: try SigningKey.generate()), accepting: { $0 == expected }) { port in
            try ChildProcess("/usr/bin/gnutls-cli", ["--port", "\(port)", "127.0.0.1", "--priority", Self.rawKeys,
                                                     "--rawpkkeyfile", stranger.keyFile, "--rawpkfile", stranger.publicFile,
                                                     "--no-ca-verification"], stderr: .stdout)
        }
        #expect(throws: TLSError.self) { try run.handshake.get() }
        if case .failure(let error) = run.handshake { #expect(error.code == .peerRefused, "\(error)") }
        #expect(run.peer == nil)
    }

    @Test(.enabled(if: available || required, "gnutls-cli is not installed (apt-get install gnutls-bin; make test installs it)"))
    func aClientWithACertificateChainIsRefused() throws {
        let dir = TempDir("tls-interop")
        let peer = try ThirdPartyKey(in: dir, "x509")
        let template = dir.write("cert.cfg", "cn = \"peer.example\"\nexpiration_days = 1\nsigning_key\ntls_www_client\n")
        let certificate = dir.file("x509.crt")
        let made = try ProcessLauncher.run("/usr/bin/certtool", ["--generate-self-signed", "--load-privkey", peer.keyFile,
                                                                 "--template", template, "--outfile", certificate])
        try #require(made.status == 0, "\(made.output)")
        let run = try Self.serveOnce(try TLSIdentity(key: try SigningKey.generate()), accepting: { _ in true }) { port in
            try ChildProcess("/usr/bin/gnutls-cli", ["--port", "\(port)", "127.0.0.1", "--x509certfile", certificate,
                                                     "--x509keyfile", peer.keyFile, "--no-ca-verification"], stderr: .stdout)
        }
        #expect(throws: TLSError.self) { try run.handshake.get() }
        #expect(run.peer == nil)
    }

    @Test func aPlainTCPClientIsRefused() throws {
        let run = try Self.serveOnce(try TLSIdentity(key: try SigningKey.generate()), accepting: { _ in true }) { port in
            try ChildProcess("/usr/bin/env", ["python3", "-c", """
                import socket; s = socket.create_connection(("127.0.0.1", \(port))); s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"); s.recv(100)
                """], stderr: .stdout)
        }
        #expect(throws: TLSError.self) { try run.handshake.get() }
        #expect(run.peer == nil)
    }
}
