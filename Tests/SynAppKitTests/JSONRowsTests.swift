import FoundationEssentials
@testable import SynAppKit
import Testing

/// The SDK's reader of `sql_query` rows agrees with `JSONDecoder` on every value kind, and refuses what is not rows.
@Suite struct JSONRowsTests {
    static func decoded(_ text: String) -> [[SQLValue]]? {
        try? JSONDecoder().decode([[SQLValue]].self, from: Data(text.utf8))
    }

    /// The host writes a REAL column with a point or an exponent ("2500.0", "1e+16"), an INTEGER column without:
    /// the type follows the text, where `JSONDecoder` would make integers of integral reals.
    @Test func aRealStaysRealEvenWhenIntegral() {
        #expect(JSONRows.parse(Array("[[2500.0,1e+16,2.5E+3,7]]".utf8)) == [[.real(2500), .real(1e16), .real(2500), .integer(7)]])
    }

    @Test(arguments: [
        "[]", "[[]]", " [ [ 1 , -2 , 3.5 , null ] ] ",
        #"[[9223372036854775807,-9223372036854775808,1e-05,0]]"#,
        #"[["plain","esc \" \\ \/ \b \f \n \r \t","\u00e9\u4e2d","\ud83d\ude00 emoji","naïve ✓"]]"#,
        #"[[{"base64":"AAEC/w=="},{ "base64" : "" }],[null,"x"]]"#,
    ])
    func agreesWithJSONDecoder(_ text: String) throws {
        let expected = try #require(Self.decoded(text))
        #expect(JSONRows.parse(Array(text.utf8)) == expected)
    }

    @Test(arguments: [
        "", "{}", "[", "[[1]", "[[1],]", "[[1,]]", "[1]", #"[["unterminated]]"#, #"[["bad \x"]]"#, #"[["\ud83d"]]"#,
        #"[[{"hex":"00"}]]"#, #"[[{"base64":"!!"}]]"#, "[[true]]", "[[nul]]", "[[-]]", "[[1]] x", #"[["\u12"]]"#,
    ])
    func refusesWhatIsNotRows(_ text: String) {
        #expect(JSONRows.parse(Array(text.utf8)) == nil)
    }

    @Test func randomRowsRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ab \"\\/\n\t\u{1}é中😀")
        for _ in 0..<300 {
            var rows: [[SQLValue]] = []
            var text = "["
            for r in 0..<Int.random(in: 0...4, using: &rng) {
                var row: [SQLValue] = []
                var cells: [String] = []
                for _ in 0..<Int.random(in: 0...5, using: &rng) {
                    switch Int.random(in: 0...3, using: &rng) {
                    case 0: row.append(.null); cells.append("null")
                    case 1:
                        let n = Int64.random(in: .min ... .max, using: &rng)
                        row.append(.integer(n)); cells.append(String(n))
                    case 2:
                        let d = Double.random(in: -1e9...1e9, using: &rng)
                        row.append(.real(d)); cells.append("\(d)")
                    default:
                        let s = String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng) ?? "a" })
                        row.append(.text(s))
                        cells.append(String(decoding: try JSONEncoder().encode(s), as: UTF8.self))
                    }
                }
                if r > 0 { text += "," }
                text += "[" + cells.joined(separator: ",") + "]"
                rows.append(row)
            }
            text += "]"
            #expect(JSONRows.parse(Array(text.utf8)) == rows, "\(text)")
        }
    }
}
