import SynSodium
import Testing

/// Known-answer vectors for the hashes.
@Suite struct HashTests {
    @Test func sha256Vectors() {
        #expect(Hex.encode(Hash.sha256(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(Hash.sha256([]))
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func blake2bVectors() {
        #expect(Hex.encode(Hash.blake2b(Array("abc".utf8)))
            == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
        #expect(Hex.encode(Hash.blake2b([]))
            == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        #expect(Hex.encode(Hash.blake2b(Array("abc".utf8), length: 64))
            == "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    @Test func blake2bLengthIsClamped() {
        #expect(Hash.blake2b([1], length: 1).count == 16)
        #expect(Hash.blake2b([1], length: 1000).count == 64)
        #expect(Hash.blake2b([1], length: 20).count == 20)
    }
}
