/// The parts of an HTTP request that a signature can cover, as the server received them.
public struct SignedRequest: Sendable, Equatable {
    /// The request method, e.g. `POST` (case-sensitive, as on the request line).
    public var method: String
    /// `http` or `https` (any case): how the request reached the server.
    public var scheme: String
    /// The `Host` header value as received, e.g. `127.0.0.1:7420`.
    public var authority: String
    /// The origin-form request target: path plus `?query` if any, e.g. `/v1/apps/hello/echo?x=1`.
    public var target: String
    /// Every header field line, in order; repeated names are combined per RFC 9421 §2.1.
    public var headers: [HTTPField]
    /// The body bytes as received (empty when there is none).
    public var body: [UInt8]

    public init(method: String, scheme: String, authority: String, target: String, headers: [HTTPField],
                body: [UInt8] = []) {
        self.method = method
        self.scheme = scheme
        self.authority = authority
        self.target = target
        self.headers = headers
        self.body = body
    }

    /// A request for absolute `url` (`http[s]://host[:port]/path[?query]`), with `authority` taken from the URL as
    /// written, as an HTTP client sends it in `Host`. Throws `.malformed` for anything else.
    public init(method: String, url: String, headers: [HTTPField] = [], body: [UInt8] = []) throws(SignatureError) {
        let parts = try URLParts.parse(url)
        self.init(method: method, scheme: parts.scheme, authority: parts.authority, target: parts.target,
                  headers: headers, body: body)
    }

    /// The value of field `name` per RFC 9421 §2.1: each line's value with leading and trailing SP/HTAB removed,
    /// lines joined by `", "`; nil when no line has that name (compared case-insensitively).
    public func fieldValue(_ name: String) -> String? {
        var out: [UInt8] = []
        guard appendFieldValue(name, to: &out) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// `fieldValue(name)` as bytes.
    func fieldBytes(_ name: String) -> [UInt8]? {
        var out: [UInt8] = []
        guard appendFieldValue(name, to: &out) else { return nil }
        return out
    }

    /// Appends the bytes of `fieldValue(name)` to `out`; false (nothing appended) when no line has that name.
    func appendFieldValue(_ name: String, to out: inout [UInt8]) -> Bool {
        var found = false
        for field in headers where HeaderName.matches(field.name, name) {
            if found { out.append(contentsOf: [0x2c, 0x20]) }   // ", "
            HeaderName.appendTrimmed(field.value, to: &out)
            found = true
        }
        return found
    }
}

/// ASCII-only helpers for header names and values (never locale- or Unicode-dependent).
enum HeaderName {
    /// `text` with ASCII A–Z lowered; other bytes unchanged.
    static func lowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// Whether `text` has an ASCII A–Z byte, i.e. whether `lowercased(text)` differs from `text` (lowering only
    /// rewrites those bytes, and for ASCII text String equality is byte equality).
    static func hasUppercase(_ text: String) -> Bool { text.utf8.contains { $0 >= 0x41 && $0 <= 0x5a } }

    /// `lowercased(fieldName) == lowercased(name)`, without building either string.
    ///
    /// For ASCII strings String equality is byte equality, so bytes are compared with A–Z folded. If either string
    /// has a non-ASCII byte the String comparison itself is made (it applies Unicode canonical equivalence).
    static func matches(_ fieldName: String, _ name: String) -> Bool {
        let a = fieldName.utf8
        let b = name.utf8
        if a.count == b.count {
            var ascii = true
            var equal = true
            for (x, y) in zip(a, b) {
                if (x | y) >= 0x80 {
                    ascii = false
                    break
                }
                if fold(x) != fold(y) { equal = false }
            }
            if ascii { return equal }
        } else if a.allSatisfy({ $0 < 0x80 }) && b.allSatisfy({ $0 < 0x80 }) {
            return false
        }
        return lowercased(fieldName) == lowercased(name)
    }

    @inline(__always) private static func fold(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte }

    /// `text` without leading and trailing SP and HTAB.
    static func trimmed(_ text: String) -> String {
        var out: [UInt8] = []
        appendTrimmed(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the bytes of `trimmed(text)` to `out`.
    static func appendTrimmed(_ text: String, to out: inout [UInt8]) {
        var copy = text
        copy.withUTF8 { bytes in
            var start = 0
            var end = bytes.count
            while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
            while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
        }
    }
}
