import FoundationEssentials
@testable import SynAppKit
import Testing

/// The SDK's own encoders, made faster in session 11: each still writes what the host and other clients read.
@Suite struct EncodingTests {
    @Test(arguments: [0, 1, 2, 3, 31, 32, 33, 64])
    func base64URLRoundTripsAndMatchesFoundation(_ count: Int) throws {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 251) }
        let text = Base64URL.encode(bytes)
        let foundation = String(Data(bytes).base64EncodedString().compactMap { c -> Character? in
            c == "+" ? "-" : c == "/" ? "_" : c == "=" ? nil : c
        })
        #expect(text == foundation)
        #expect(Base64URL.decode(text) == bytes)
    }

    @Test(arguments: ["a", "ab=", "ab+c", "ab/c", "a b", "ab==", "AB"])
    func base64URLRefusesWhatIsNotCanonical(_ text: String) {
        // "AB" has non-zero trailing bits: its one byte is spelled "AA".
        #expect(Base64URL.decode(text) == nil)
    }

    @Test func aCallerKeyComparesByItsBytes() throws {
        let bytes = [UInt8](repeating: 7, count: 32)
        let a = try #require(CallerKey(bytes: bytes)), b = try #require(CallerKey(Base64URL.encode(bytes)))
        let c = try #require(CallerKey(Hex.encode(bytes)))
        #expect(a == b && b == c && a.id == c.id && Set([a, b, c]).count == 1)
        #expect(CallerKey(bytes: [UInt8](repeating: 7, count: 31)) == nil)
    }

    /// The parameters the host parses: every kind, and text that needs escaping.
    @Test func sqlParametersAreTheJSONTheHostReads() throws {
        let values: [SQLValue] = [.null, .integer(-42), .real(2.5), .text("a\"b\\c\nd\u{1}é✓"), .blob([0, 1, 255])]
        let json = SQLValue.json(values)
        let parsed = try JSONDecoder().decode([SQLValue].self, from: Data(json))
        #expect(parsed == values)
    }

    @Test func aDecodeCacheDecodesChangedTextAgain() throws {
        struct Settings: Codable, Sendable, Equatable { var minutes: Int }
        let cache = DecodeCache<Settings>(limit: 2)
        #expect(try cache.decode(#"{"minutes":15}"#) == Settings(minutes: 15))
        #expect(try cache.decode(#"{"minutes":15}"#) == Settings(minutes: 15))
        #expect(try cache.decode(#"{"minutes":20}"#) == Settings(minutes: 20))
        // Past its limit it starts again, and still answers right.
        #expect(try cache.decode(#"{"minutes":25}"#) == Settings(minutes: 25))
        #expect(try cache.decode(#"{"minutes":15}"#) == Settings(minutes: 15))
        #expect(throws: (any Error).self) { try cache.decode(#"{"minutes":"soon"}"#) }
    }
}
