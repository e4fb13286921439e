@testable import SynConfig
import Testing

/// The scanner that finds key lines TOMLKit does not report.
@Suite struct KeyLocatorTests {
    let text = """
        # a comment with key = "value"
        top = 1
        [a]
        b = "x # not a comment"   # comment
        c.d = 2
        "quoted.key" = 3
        inline = { x = 1, y = { z = "}" } }
        multi = \"\"\"
        fake = 1
        \"\"\"
        list = [
          "one", # note
          [1, 2],
          'three',
        ]
        [[arr]]
        e = 5
        [f.g]
        h = true
        """

    @Test func findsKeys() {
        let locator = KeyLocator(text: text)
        #expect(locator.line(of: ["top"]) == 2)
        #expect(locator.line(of: ["a"]) == 3)
        #expect(locator.line(of: ["a", "b"]) == 4)
        #expect(locator.line(of: ["a", "c", "d"]) == 5)
        #expect(locator.line(of: ["a", "c"]) == 5)
        #expect(locator.line(of: ["a", "quoted.key"]) == 6)
        #expect(locator.line(of: ["a", "inline", "x"]) == 7)
        #expect(locator.line(of: ["a", "inline", "y", "z"]) == 7)
        #expect(locator.line(of: ["a", "multi"]) == 8)
        #expect(locator.line(of: ["fake"]) == nil)
        #expect(locator.line(of: ["a", "fake"]) == nil)
        #expect(locator.line(of: ["a", "list"]) == 11)
        #expect(locator.line(of: ["a", "list"], element: 0) == 12)
        #expect(locator.line(of: ["a", "list"], element: 1) == 13)
        #expect(locator.line(of: ["a", "list"], element: 2) == 14)
        #expect(locator.line(of: ["a", "list"], element: 9) == 11)
        #expect(locator.line(of: ["arr", "e"]) == 17)
        #expect(locator.line(of: ["f"]) == 18)
        #expect(locator.line(of: ["f", "g", "h"]) == 19)
        #expect(locator.line(of: ["nowhere"]) == nil)
    }

    @Test func keyAtLine() {
        let locator = KeyLocator(text: text)
        #expect(locator.key(atLine: 2) == "top")
        #expect(locator.key(atLine: 9) == "a.multi")
        #expect(locator.key(atLine: 13) == "a.list")
        #expect(locator.key(atLine: 7) == "a.inline")
        #expect(locator.key(atLine: 1) == nil)
    }

    @Test func dottedQuotesOddSegments() {
        #expect(KeyLocator.dotted(["a", "b-c"]) == "a.b-c")
        #expect(KeyLocator.dotted(["a", "b.c"]) == "a.\"b.c\"")
    }

    @Test func deepNestingIsSkipped() {
        let deep = String(repeating: "[", count: 5000) + "\n" + String(repeating: "]", count: 5000)
        let locator = KeyLocator(text: "a = \(deep)\nb = 1\n")
        #expect(locator.line(of: ["a"]) == 1)
        #expect(locator.line(of: ["b"]) == 3)
    }

    @Test func survivesMalformedText() {
        for junk in ["[", "= = =", "a = [", "a = {", "a = \"\"\"", "[a.\n", "\"", "a.b.", "x = [1, {y = "] {
            let locator = KeyLocator(text: junk)
            _ = locator.key(atLine: 1)
        }
    }
}
