import SynText
import SynTestSupport
import Testing

struct Base64Tests {
    @Test func roundTripsEveryLength() {
        var generator = SplitMix64(seed: 7)
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }

    @Test func knownValues() {
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encode(Array("f".utf8)) == "Zg==")
        #expect(Base64.decode("Zm9vYg==") == Array("foob".utf8))
    }

    @Test(arguments: ["Zg", "Zg=", "Zh==", "Zm9=", "Zg==Zg==", "Z===", "====", "Zm9v YmFy", "Zm9v-_Fy", "Zm8=\n"])
    func refusesNonCanonical(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
