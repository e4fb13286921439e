import Foundation
import SynAppStore
import SynSQLite
import Testing

/// Query rows as the worker writes them for `sql_query`: valid JSON that reads back as the same values.
@Suite struct SQLRowsTests {
    @Test func rowsReadBackExactly() throws {
        let texts = ["", "plain", "quote \" backslash \\ slash /", "controls \u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}", "é中😀", "\u{7f}"]
        let rows: [[SQLValue]] = [
            texts.map { .text($0) },
            [.integer(0), .integer(.max), .integer(.min), .real(2.5), .real(.infinity), .null, .blob([0, 1, 255])],
            [],
        ]
        let bytes = SQLRows.json(rows)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[Any]])
        #expect(parsed.count == 3)
        #expect(parsed[0].compactMap { $0 as? String } == texts)
        #expect((parsed[1][1] as? NSNumber)?.int64Value == .max && (parsed[1][2] as? NSNumber)?.int64Value == .min)
        #expect(parsed[1][4] is NSNull)   // a non-finite real has no JSON form
        #expect((parsed[1][6] as? [String: String])?["base64"] == "AAH/")
        #expect(parsed[2].isEmpty)
    }
}
