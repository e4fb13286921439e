import SynText
import Testing

/// Arrays of JSON scalars, and arrays of them, read exactly as RFC 8259 spells them.
@Suite struct JSONScalarsTests {
    @Test func readsRowsOfEveryScalar() {
        let rows = JSONScalars.rows(Array(#" [[1, -0, 2.5, 1e-05, true, false, null, "a\u00e9\"", {"base64":"AAH/"}], []] "#.utf8))
        #expect(rows == [[.integer(1), .integer(0), .real(2.5), .real(1e-05), .bool(true), .bool(false), .null,
                          .string("aé\""), .bytes([0, 1, 255])], []])
        #expect(JSONScalars.array(Array("[]".utf8)) == [])
    }

    @Test(arguments: ["", "[", "[1", "[1,]", "[[1]", "[01]", "[1.]", "[-]", "[1e+]", "[\"\u{1}\"]", "[\"\\q\"]",
                      "[{\"base64\":\"A\"}]", "[nul]", "[1] x", "[\"\\udc00\"]"])
    func refusesAnythingElse(_ text: String) {
        #expect(JSONScalars.array(Array(text.utf8)) == nil, "\(text)")
        if !text.isEmpty { #expect(JSONScalars.rows(Array("[\(text)]".utf8)) == nil, "\(text)") }
    }
}
