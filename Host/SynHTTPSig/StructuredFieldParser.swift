import SynSodium
/// A strict, bounded RFC 8941 parser for dictionaries (§4.2.2), inner lists and parameters.
///
/// Works on bytes; refuses anything outside the grammar, duplicate dictionary keys or parameter keys (RFC 8941 lets
/// the last win; we refuse, so a signature can never be read two ways), decimals, and more members, inner-list items
/// or parameters than the bounds given. Every failure is `.malformed` and names the field.
struct StructuredFieldParser {
    /// The field's bytes, for slicing members' `raw`.
    private let source: [UInt8]
    /// The same bytes, for reading.
    private let input: UnsafeBufferPointer<UInt8>
    private var index = 0
    private let field: String
    private let maxMembers: Int
    private let maxItems: Int
    private let maxParameters: Int

    private init(_ source: [UInt8], _ input: UnsafeBufferPointer<UInt8>, field: String, maxMembers: Int,
                 maxItems: Int, maxParameters: Int) {
        self.source = source
        self.input = input
        self.field = field
        self.maxMembers = maxMembers
        self.maxItems = maxItems
        self.maxParameters = maxParameters
    }

    /// Parses `text` as an RFC 8941 dictionary. Each member's `raw` is a slice of `text`.
    static func dictionary(_ text: [UInt8], field: String, maxMembers: Int, maxItems: Int,
                           maxParameters: Int) throws(SignatureError) -> [SFDictionaryMember] {
        if maxMembers >= 1, let member = singleByteSequence(text) { return [member] }
        var failure: SignatureError?
        let members = text.withUnsafeBufferPointer { buffer -> [SFDictionaryMember] in
            var parser = StructuredFieldParser(text, buffer, field: field, maxMembers: maxMembers, maxItems: maxItems,
                                               maxParameters: maxParameters)
            do throws(SignatureError) {
                return try parser.parseDictionary()
            } catch {
                failure = error
                return []
            }
        }
        if let failure { throw failure }
        return members
    }

    /// The one member of `text` when it is exactly `key=:base64:` (a key, `=`, a byte sequence in canonical
    /// base64, nothing else): the usual `Signature` and `Content-Digest` values. Nil for anything else, which the
    /// full parser then reads. For this form the full parser returns exactly this member (no whitespace, no
    /// parameters, one member, and the same decoded bytes), so the shortcut changes no outcome.
    private static func singleByteSequence(_ text: [UInt8]) -> SFDictionaryMember? {
        text.withUnsafeBufferPointer { input -> SFDictionaryMember? in
            guard let first = input.first, isLowerAlpha(first) || first == STAR else { return nil }
            var index = 1
            while index < input.count, isKeyChar(input[index]) { index += 1 }
            let keyEnd = index
            guard input.count - keyEnd >= 3, input[keyEnd] == EQUALS, input[keyEnd + 1] == COLON,
                  input[input.count - 1] == COLON else { return nil }
            let body = UnsafeBufferPointer(rebasing: input[(keyEnd + 2)..<(input.count - 1)])
            guard body.allSatisfy({ Base64.isAlphabet($0) || $0 == EQUALS }), let bytes = Base64.decode(body) else {
                return nil
            }
            let key = String(decoding: UnsafeBufferPointer(rebasing: input[0..<keyEnd]), as: UTF8.self)
            return SFDictionaryMember(key: key, value: .item(SFItem(value: .bytes(bytes), parameters: [])),
                                      raw: text[(keyEnd + 1)...])
        }
    }

    // MARK: - Grammar

    private mutating func parseDictionary() throws(SignatureError) -> [SFDictionaryMember] {
        skip(where: { $0 == SP })
        var members: [SFDictionaryMember] = []
        members.reserveCapacity(min(maxMembers, 4))
        while index < input.count {
            let key = try parseKey()
            if members.contains(where: { $0.key == key }) {
                throw fail("duplicate key \(Excerpt.quote(key))")
            }
            guard members.count < maxMembers else { throw fail("more than \(maxMembers) members") }
            let start: Int
            let value: SFMemberValue
            if peek == EQUALS {
                index += 1
                start = index
                value = try parseItemOrInnerList()
            } else {
                start = index
                value = .item(SFItem(value: .boolean(true), parameters: try parseParameters()))
            }
            members.append(SFDictionaryMember(key: key, value: value, raw: source[start..<index]))
            skip(where: { $0 == SP || $0 == HTAB })
            if index == input.count { return members }
            guard peek == COMMA else { throw fail("expected ',' between members") }
            index += 1
            skip(where: { $0 == SP || $0 == HTAB })
            if index == input.count { throw fail("trailing ','") }
        }
        return members
    }

    private mutating func parseItemOrInnerList() throws(SignatureError) -> SFMemberValue {
        if peek == OPEN { return try parseInnerList() }
        return .item(try parseItem())
    }

    private mutating func parseInnerList() throws(SignatureError) -> SFMemberValue {
        index += 1   // "("
        var items: [SFItem] = []
        items.reserveCapacity(min(maxItems, 8))
        while index < input.count {
            skip(where: { $0 == SP })
            if peek == CLOSE {
                index += 1
                return .innerList(items, parameters: try parseParameters())
            }
            guard items.count < maxItems else { throw fail("inner list has more than \(maxItems) items") }
            items.append(try parseItem())
            guard let next = peek, next == SP || next == CLOSE else {
                throw fail("expected ' ' or ')' in inner list")
            }
        }
        throw fail("inner list is not closed")
    }

    private mutating func parseItem() throws(SignatureError) -> SFItem {
        let value = try parseBareItem()
        return SFItem(value: value, parameters: try parseParameters())
    }

    private mutating func parseParameters() throws(SignatureError) -> [SFParameter] {
        var parameters: [SFParameter] = []
        while peek == SEMICOLON {
            if parameters.isEmpty { parameters.reserveCapacity(min(maxParameters, 8)) }
            index += 1
            skip(where: { $0 == SP })
            let key = try parseKey()
            if parameters.contains(where: { $0.key == key }) {
                throw fail("duplicate parameter \(Excerpt.quote(key))")
            }
            guard parameters.count < maxParameters else { throw fail("more than \(maxParameters) parameters") }
            var value = SFBareItem.boolean(true)
            if peek == EQUALS {
                index += 1
                value = try parseBareItem()
            }
            parameters.append(SFParameter(key: key, value: value))
        }
        return parameters
    }

    private mutating func parseKey() throws(SignatureError) -> String {
        guard let first = peek, isLowerAlpha(first) || first == STAR else {
            throw fail("expected a key (lowercase letter or '*')\(here)")
        }
        let start = index
        skip(where: isKeyChar)
        return ascii(start..<index)
    }

    private mutating func parseBareItem() throws(SignatureError) -> SFBareItem {
        guard let first = peek else { throw fail("expected a value at end of field") }
        switch first {
        case DASH, ZERO...NINE: return try parseInteger()
        case QUOTE: return try parseString()
        case COLON: return try parseByteSequence()
        case QUESTION: return try parseBoolean()
        case STAR, UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"): return parseToken()
        default: throw fail("unexpected character\(here)")
        }
    }

    private mutating func parseInteger() throws(SignatureError) -> SFBareItem {
        var negative = false
        if peek == DASH {
            negative = true
            index += 1
        }
        let start = index
        skip(where: isDigit)
        let digits = index - start
        guard digits >= 1 else { throw fail("expected digits\(here)") }
        if peek == DOT { throw fail("decimal numbers are not accepted") }
        guard digits <= 15 else { throw fail("integer longer than 15 digits") }
        var value: Int64 = 0
        for byte in input[start..<index] { value = value * 10 + Int64(byte - ZERO) }
        return .integer(negative ? -value : value)
    }

    private mutating func parseString() throws(SignatureError) -> SFBareItem {
        index += 1   // opening quote
        // Fast path: printable ASCII without escapes up to the closing quote. Anything else (an escape, a byte
        // outside printable ASCII, no closing quote) takes the general loop below from the start, which decides.
        var end = index
        while end < input.count {
            let byte = input[end]
            if byte == QUOTE {
                let text = ascii(index..<end)
                index = end + 1
                return .string(text)
            }
            if byte == BACKSLASH || byte < 0x20 || byte > 0x7e { break }
            end += 1
        }
        var out: [UInt8] = []
        while let byte = peek {
            index += 1
            if byte == BACKSLASH {
                guard let escaped = peek, escaped == QUOTE || escaped == BACKSLASH else {
                    throw fail("invalid escape in string")
                }
                out.append(escaped)
                index += 1
            } else if byte == QUOTE {
                return .string(String(decoding: out, as: UTF8.self))
            } else if byte < 0x20 || byte > 0x7e {
                throw fail("string contains a byte outside printable ASCII (0x\(String(byte, radix: 16)))")
            } else {
                out.append(byte)
            }
        }
        throw fail("string is not terminated")
    }

    private mutating func parseToken() -> SFBareItem {
        let start = index
        skip(where: { isTokenChar($0) || $0 == COLON || $0 == SLASH })
        return .token(ascii(start..<index))
    }

    private mutating func parseByteSequence() throws(SignatureError) -> SFBareItem {
        index += 1   // opening colon
        let start = index
        skip(where: { Base64.isAlphabet($0) || $0 == EQUALS })
        guard peek == COLON else { throw fail("byte sequence is not terminated by ':' or has non-base64 characters") }
        let text = UnsafeBufferPointer(rebasing: input[start..<index])
        index += 1
        guard let bytes = Base64.decode(text) else {
            throw fail("byte sequence is not canonical padded base64 \(Excerpt.quote(text))")
        }
        return .bytes(bytes)
    }

    private mutating func parseBoolean() throws(SignatureError) -> SFBareItem {
        index += 1   // "?"
        guard let digit = peek, digit == ZERO || digit == ONE else { throw fail("boolean must be ?0 or ?1") }
        index += 1
        return .boolean(digit == ONE)
    }

    // MARK: - Helpers

    private var peek: UInt8? { index < input.count ? input[index] : nil }

    /// " at byte N" for messages.
    private var here: String { index < input.count ? " at byte \(index)" : " at end of field" }

    private mutating func skip(where predicate: (UInt8) -> Bool) {
        while index < input.count && predicate(input[index]) { index += 1 }
    }

    private func ascii(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: input[range]), as: UTF8.self)
    }

    private func fail(_ what: String) -> SignatureError {
        SignatureError(.malformed, "\(field) is not a valid RFC 8941 dictionary: \(what)")
    }
}

private func isLowerAlpha(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
private func isDigit(_ byte: UInt8) -> Bool { byte >= ZERO && byte <= NINE }
/// A byte allowed after the first in a key.
private func isKeyChar(_ byte: UInt8) -> Bool {
    isLowerAlpha(byte) || isDigit(byte) || byte == UNDERSCORE || byte == DASH || byte == DOT || byte == STAR
}

/// RFC 9110 tchar.
private func isTokenChar(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), ZERO...NINE: true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
         UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
         UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
    default: false
    }
}

private let SP = UInt8(ascii: " ")
private let HTAB = UInt8(ascii: "\t")
private let EQUALS = UInt8(ascii: "=")
private let COMMA = UInt8(ascii: ",")
private let SEMICOLON = UInt8(ascii: ";")
private let OPEN = UInt8(ascii: "(")
private let CLOSE = UInt8(ascii: ")")
private let QUOTE = UInt8(ascii: "\"")
private let BACKSLASH = UInt8(ascii: "\\")
private let COLON = UInt8(ascii: ":")
private let QUESTION = UInt8(ascii: "?")
private let STAR = UInt8(ascii: "*")
private let DASH = UInt8(ascii: "-")
private let DOT = UInt8(ascii: ".")
private let SLASH = UInt8(ascii: "/")
private let UNDERSCORE = UInt8(ascii: "_")
private let ZERO = UInt8(ascii: "0")
private let ONE = UInt8(ascii: "1")
private let NINE = UInt8(ascii: "9")
