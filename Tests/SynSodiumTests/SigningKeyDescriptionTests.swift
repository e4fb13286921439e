import SynSodium
import SynTestSupport
import Testing

/// Key descriptions, debug output and mirrors never reveal the secret half.
@Suite struct SigningKeyDescriptionTests {
    @Test func descriptionShowsOnlyThePublicKey() throws {
        let dir = TempDir()
        let path = dir.file("node.key")
        let key = try KeyFile.loadOrCreate(path: path).key
        let content = readBytes(path)
        #expect(content.count == 64)
        let seedHex = Hex.encode(Array(content[..<32]))
        let seedHalves = [String(seedHex.prefix(16)), String(seedHex.dropFirst(48))]

        var dumped = ""
        dump(key, to: &dumped)
        let outputs = [key.description, key.debugDescription, String(describing: key), String(reflecting: key),
                       "\(key)", dumped, String(describing: Mirror(reflecting: key).children.map { $0.value })]
        for output in outputs {
            #expect(!output.contains(seedHex))
            for half in seedHalves { #expect(!output.contains(half)) }
        }
        #expect(key.description == "SigningKey(public: \(Hex.encode(key.publicKey)))")
        #expect(dumped.contains(Hex.encode(key.publicKey)))
    }

    @Test func errorsNeverCarryKeyBytes() throws {
        let dir = TempDir()
        let path = dir.file("node.key")
        _ = try KeyFile.loadOrCreate(path: path)
        var content = readBytes(path)
        content[63] ^= 0x01
        dir.write("node.key", bytes: content)
        let error = sodiumError { () throws(SodiumError) in try KeyFile.load(path: path) }
        #expect(error?.code == .badKey)
        let seedHex = Hex.encode(Array(content[..<32]))
        let publicHex = Hex.encode(Array(content[32...]))
        #expect(error?.description.contains(String(seedHex.prefix(16))) == false)
        #expect(error?.description.contains(String(publicHex.prefix(16))) == false)
    }
}
