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
        let wanted = HeaderName.lowercased(name)
        var values: [String] = []
        for field in headers where HeaderName.lowercased(field.name) == wanted {
            values.append(HeaderName.trimmed(field.value))
        }
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}

/// ASCII-only helpers for header names and values (never locale- or Unicode-dependent).
enum HeaderName {
    /// `text` with ASCII A–Z lowered; other bytes unchanged.
    static func lowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// `text` without leading and trailing SP and HTAB.
    static func trimmed(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var start = 0
        var end = bytes.count
        while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
        while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
