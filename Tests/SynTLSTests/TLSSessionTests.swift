import SynSodium
@testable import SynTLS
import Testing

/// Two sessions joined in memory: every byte one writes, the other reads, until neither has anything to say.
struct Pair {
    let client: TLSSession
    let server: TLSSession

    /// Moves bytes both ways and steps both handshakes until they stop making progress.
    func run() -> (client: Result<Bool, TLSError>, server: Result<Bool, TLSError>) {
        var clientDone: Result<Bool, TLSError> = .success(false), serverDone: Result<Bool, TLSError> = .success(false)
        for _ in 0..<32 {
            if case .success(false) = clientDone { clientDone = Result { () throws(TLSError) in try client.handshake() } }
            server.receive(client.takeOutput())
            if case .success(false) = serverDone { serverDone = Result { () throws(TLSError) in try server.handshake() } }
            let back = server.takeOutput()
            client.receive(back)
            if case .success(true) = clientDone, case .success(true) = serverDone { break }
            if case .failure = clientDone, back.isEmpty { break }
            if case .failure = serverDone, back.isEmpty { break }
        }
        return (clientDone, serverDone)
    }
}

@Suite struct TLSSessionTests {
    let nodeA: SigningKey
    let nodeB: SigningKey
    let a: TLSIdentity
    let b: TLSIdentity

    init() throws {
        nodeA = try SigningKey.generate()
        nodeB = try SigningKey.generate()
        a = try TLSIdentity(key: nodeA)
        b = try TLSIdentity(key: nodeB)
    }

    @Test func twoNodesHandshakeOnTheirKeysAndTalk() throws {
        let pair = Pair(client: try TLSSession(role: .client, identity: a, peer: .exactly(nodeB.publicKey)),
                        server: try TLSSession(role: .server, identity: b, peer: .accepting { _ in true }))
        let (client, server) = pair.run()
        #expect(try client.get() && server.get())
        #expect(pair.client.peerKey == nodeB.publicKey)
        #expect(pair.server.peerKey == nodeA.publicKey)
        try pair.client.send(Array("hello B".utf8))
        pair.server.receive(pair.client.takeOutput())
        #expect(try pair.server.read() == .data(Array("hello B".utf8)))
        #expect(try pair.server.read() == .wouldBlock)
        try pair.server.send(Array("hello A".utf8))
        pair.client.receive(pair.server.takeOutput())
        #expect(try pair.client.read() == .data(Array("hello A".utf8)))
        pair.client.close()
        pair.server.receive(pair.client.takeOutput())
        #expect(try pair.server.read() == .closed)
    }

    /// Dialling node B but reaching someone with another key fails on the client's side.
    @Test func aServerWithAnotherKeyIsRefused() throws {
        let impostor = try TLSIdentity(key: try SigningKey.generate())
        let pair = Pair(client: try TLSSession(role: .client, identity: a, peer: .exactly(nodeB.publicKey)),
                        server: try TLSSession(role: .server, identity: impostor, peer: .accepting { _ in true }))
        let (client, server) = pair.run()
        #expect(throws: TLSError.self) { try client.get() }
        if case .failure(let error) = client { #expect(error.code == .peerRefused, "\(error)") }
        #expect((try? server.get()) != true)
        #expect(pair.client.peerKey == nil)
    }

    /// An inbound node the owner does not accept fails on the server's side, and nothing is read from it.
    @Test func aClientTheServerDoesNotAcceptIsRefused() throws {
        let allowed = nodeB.publicKey
        let pair = Pair(client: try TLSSession(role: .client, identity: a, peer: .exactly(nodeB.publicKey)),
                        server: try TLSSession(role: .server, identity: b, peer: .accepting { $0 == allowed }))
        let (_, server) = pair.run()
        #expect(throws: TLSError.self) { try server.get() }
        if case .failure(let error) = server { #expect(error.code == .peerRefused, "\(error)") }
        #expect(pair.server.peerKey == nil)
        #expect(throws: TLSError.self) { try pair.server.send([1]) }
    }

    @Test func garbageIsAHandshakeErrorNotACrash() throws {
        let server = try TLSSession(role: .server, identity: b, peer: .accepting { _ in true })
        server.receive(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(throws: TLSError.self) { try server.handshake() }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let s = try TLSSession(role: .server, identity: b, peer: .accepting { _ in true })
            s.receive((0..<Int.random(in: 0...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            _ = try? s.handshake()
        }
    }

    /// The node key signs through TLS only what TLS 1.3 signs: the CertificateVerify context.
    @Test func onlyTLS13CertificateVerifyIsSigned() {
        let spaces = [UInt8](repeating: 0x20, count: 64)
        #expect(TLSIdentity.isCertificateVerify(spaces + Array("TLS 1.3, server CertificateVerify".utf8) + [0] + [UInt8](repeating: 1, count: 32)))
        #expect(TLSIdentity.isCertificateVerify(spaces + Array("TLS 1.3, client CertificateVerify".utf8) + [0] + [UInt8](repeating: 1, count: 48)))
        #expect(!TLSIdentity.isCertificateVerify(Array("an audit checkpoint".utf8)))
        #expect(!TLSIdentity.isCertificateVerify(spaces + Array("TLS 1.3, server CertificateVerify".utf8) + [0]))
        #expect(!TLSIdentity.isCertificateVerify([UInt8](repeating: 0x20, count: 63) + Array("TLS 1.3, server CertificateVerify".utf8) + [0, 1]))
    }

    @Test func rawPublicKeyEncodingsAreExact() {
        let key = [UInt8](repeating: 7, count: 32)
        #expect(RawPublicKey.ed25519Key(spki: RawPublicKey.spki(key)) == key)
        #expect(RawPublicKey.ed25519Key(spki: RawPublicKey.spki(key) + [0]) == nil)
        #expect(RawPublicKey.ed25519Key(spki: Array(RawPublicKey.spki(key).dropLast())) == nil)
        var otherAlgorithm = RawPublicKey.spki(key)
        otherAlgorithm[8] = 0x71   // 1.3.101.113, Ed448's OID arc
        #expect(RawPublicKey.ed25519Key(spki: otherAlgorithm) == nil)
    }
}
