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
    /// The body's SHA-256 when the server streamed the body elsewhere (a package upload to a file) instead of
    /// keeping it in `body`; `Content-Digest` is checked against it.
    public var bodyDigest: [UInt8]?

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

    /// The bytes of `fieldValue` for `signature-input`, `signature` and `content-digest`, in one pass over the
    /// headers.
    func signatureFields() -> (input: [UInt8]?, signature: [UInt8]?, contentDigest: [UInt8]?) {
        var input: [UInt8]?
        var signature: [UInt8]?
        var contentDigest: [UInt8]?
        func add(_ value: String, to out: inout [UInt8]?) {
            if out == nil {
                out = []
            } else {
                out!.append(contentsOf: [0x2c, 0x20])   // ", "
            }
            HeaderName.appendTrimmed(value, to: &out!)
        }
        for field in headers {
            switch HeaderName.signatureField(field.name) {
            case 1: add(field.value, to: &input)
            case 2: add(field.value, to: &signature)
            case 3: add(field.value, to: &contentDigest)
            default: break
            }
        }
        return (input, signature, contentDigest)
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
        let answer: Bool?? = fieldName.utf8.withContiguousStorageIfAvailable { a in
            name.utf8.withContiguousStorageIfAvailable { b in asciiMatch(a, b) } ?? nil
        }
        if let known = answer ?? nil { return known }
        return lowercased(fieldName) == lowercased(name)
    }

    /// Which of `signature-input` (1), `signature` (2) and `content-digest` (3) `fieldName` matches as `matches`
    /// would say; 0 for none.
    static func signatureField(_ fieldName: String) -> Int {
        let known: Int? = fieldName.utf8.withContiguousStorageIfAvailable { bytes -> Int? in
            var high: UInt8 = 0
            for byte in bytes { high |= byte }
            guard high & 0x80 == 0 else { return nil }
            switch bytes.count {
            case 15: return equalFolded(bytes, "signature-input") ? 1 : 0
            case 9: return equalFolded(bytes, "signature") ? 2 : 0
            case 14: return equalFolded(bytes, "content-digest") ? 3 : 0
            default: return 0
            }
        } ?? nil
        if let known { return known }
        if matches(fieldName, "signature-input") { return 1 }
        if matches(fieldName, "signature") { return 2 }
        if matches(fieldName, "content-digest") { return 3 }
        return 0
    }

    /// Whether ASCII `bytes` equal lowercase ASCII `lowercase` with A–Z folded.
    private static func equalFolded(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let wanted = lowercase.utf8Start
        for index in 0..<bytes.count where fold(bytes[index]) != wanted[index] { return false }
        return true
    }

    /// Whether `a` and `b` are equal with A–Z folded, or nil if either has a non-ASCII byte.
    private static func asciiMatch(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        if a.count == b.count {
            var high: UInt8 = 0
            var equal = true
            for index in 0..<a.count {
                let x = a[index], y = b[index]
                high |= x | y
                if fold(x) != fold(y) { equal = false }
            }
            return high & 0x80 == 0 ? equal : nil
        }
        var high: UInt8 = 0
        for byte in a { high |= byte }
        for byte in b { high |= byte }
        return high & 0x80 == 0 ? false : nil
    }

    @inline(__always) private static func fold(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
    }

    /// Appends the bytes of `text` without leading and trailing SP and HTAB to `out`.
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
