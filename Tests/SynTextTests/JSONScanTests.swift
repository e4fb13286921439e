import Foundation
import SynText
import SynTestSupport
import Testing

/// The allocation-free JSON check agrees with Foundation's parser.
@Suite struct JSONScanTests {
    static let valid = [#"{}"#, #"[]"#, #" {"a":[1,2.5e-3,-0,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"]} "#, #""héllo""#, "0", "-1.5E+10",
                        #"[[[[]]]]"#, #"{"k":{"k":{"k":"v"}}}"#, "\"\u{1F600}\""]
    static let invalid = ["", " ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "01", "1.", "-", ".5", "1e", "tru", "nul",
                          "\"\u{01}\"", "\"\\x\"", "\"\\u12\"", "[1 2]", "{} {}", "{\"a\":1,}", "'a'", "NaN", "[1]x"]

    @Test func agreesWithFoundation() {
        for text in Self.valid { #expect(JSONScan.isJSON(Array(text.utf8)), "\(text)") }
        for text in Self.invalid { #expect(!JSONScan.isJSON(Array(text.utf8)), "\(text)") }
        // Bytes that are not UTF-8 inside a string, and nesting past the bound.
        #expect(!JSONScan.isJSON([0x22, 0xC0, 0xAF, 0x22]) && !JSONScan.isJSON([0x22, 0xED, 0xA0, 0x80, 0x22]))
        #expect(!JSONScan.isJSON(Array((String(repeating: "[", count: 600) + String(repeating: "]", count: 600)).utf8)))
    }

    /// Deterministic: the same 20,000 cases every run. Exponents are left to the fixed cases: Foundation refuses a
    /// number like 7e585 that overflows a Double, which RFC 8259's grammar allows (the app decodes it as it likes).
    @Test func fuzzedInputsMatchFoundation() {
        var rng = SplitMix64(seed: 0x5EED_1234)
        let alphabet = Array(#"{}[],:"\ 0123456789.+-truefalsnlx"#.utf8) + [0xC3, 0xA9, 0x01]
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...12, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng) ?? 0x20 }
            // A digit then e/E may be an exponent Foundation refuses as out of range (see above): not compared.
            if zip(bytes, bytes.dropFirst()).contains(where: { (0x30...0x39).contains($0.0) && ($0.1 == 0x65 || $0.1 == 0x45) }) { continue }
            let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
            #expect(JSONScan.isJSON(bytes) == foundation, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
