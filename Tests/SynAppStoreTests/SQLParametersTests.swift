import Foundation
import SynAppStore
import SynSQLite
import Testing

/// `params_json` as the worker decodes it, without Foundation: exactly the values the JSON says.
@Suite struct SQLParametersTests {
    @Test func scalarsAndBlobsDecodeExactly() throws {
        let values = try SQLParameters.parse(Array(#"[1, -2, 2.0, 1e-05, 2.5E+3, 9223372036854775807, 9223372036854775808, true, false, null, "a\"b\\c\/\n\u00e9\ud83d\ude00", {"base64": "AAH/"}, {"base64":""}]"#.utf8))
        #expect(values == [.integer(1), .integer(-2), .real(2.0), .real(1e-05), .real(2500), .integer(.max),
                           .real(9223372036854775808), .integer(1), .integer(0), .null, .text("a\"b\\c/\né😀"),
                           .blob([0, 1, 255]), .blob([])])
        #expect(try SQLParameters.parse([]) == [])
        #expect(try SQLParameters.parse(Array(" [ ] ".utf8)) == [])
    }

    @Test(arguments: ["", "{}", "[1,]", "[01]", "[1.]", "[.5]", "[+1]", "[1e]", "[\"\\x\"]", "[\"\u{1}\"]", "[\"a]",
                      "[tru]", "[1] 2", "[[1]]", "[{\"base64\":\"A\"}]", "[{\"hex\":\"00\"}]", "[{\"base64\":\"AA==\",\"x\":1}]",
                      "[\"\\ud83d\"]", "[1e999]", "[NaN]"])
    func anythingElseIsRefusedNamingTheShape(_ text: String) {
        guard !text.isEmpty else { return }
        do {
            _ = try SQLParameters.parse(Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.status == -2 && error.message.hasPrefix("params_json must be a JSON array"), "\(text)")
        }
    }

    /// Whatever Foundation reads as a flat array of strings and numbers, the worker reads the same way.
    @Test func agreesWithFoundationOnRandomArrays() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var items: [Any] = []
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                switch Int.random(in: 0...2, using: &generator) {
                case 0: items.append(Int64.random(in: .min ... .max, using: &generator))
                case 1: items.append(Double.random(in: -1e9...1e9, using: &generator))
                default: items.append(String((0..<Int.random(in: 0...12, using: &generator)).map { _ in
                    Character(Unicode.Scalar(UInt32.random(in: 0x20...0x2FF, using: &generator)) ?? "x")
                }))
                }
            }
            let data = try JSONSerialization.data(withJSONObject: items)
            let values = try SQLParameters.parse(Array(data))
            #expect(values.count == items.count)
            for (value, item) in zip(values, items) {
                switch (value, item) {
                case (.integer(let a), let b as Int64): #expect(a == b)
                case (.text(let a), let b as String): #expect(a == b)
                case (.real(let a), let b as Double): #expect(a == b)
                case (.integer(let a), let b as Double): #expect(Double(a) == b)
                default: Issue.record("\(value) vs \(item) in \(String(decoding: data, as: UTF8.self))")
                }
            }
        }
    }
}
