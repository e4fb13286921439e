/// Validation and normalisation of the request-line parts a server hands in.
///
/// Each check works on the UTF-8 bytes and appends the (normalised) part to the signature base being built, so no
/// intermediate strings are made.
enum RequestLine {
    /// Appends `method` if it is an RFC 9110 token of at most 32 bytes.
    static func appendMethod(_ method: String, to out: inout [UInt8]) throws(SignatureError) {
        let start = out.count
        out.append(contentsOf: method.utf8)
        let bytes = out[start...]
        guard !bytes.isEmpty, bytes.count <= 32, bytes.allSatisfy(isTokenChar) else {
            throw SignatureError(.malformed, "request method \(Excerpt.quote(bytes)) is not an HTTP token")
        }
    }

    /// Appends `scheme` lowercased if it is `http` or `https` in any case.
    static func appendScheme(_ scheme: String, to out: inout [UInt8]) throws(SignatureError) {
        let start = out.count
        out.append(contentsOf: scheme.utf8)
        lowercase(&out, from: start)
        guard isHTTPScheme(out[start...]) else {
            throw SignatureError(.malformed, "request scheme \(Excerpt.quote(scheme)) is not http or https")
        }
    }

    /// Appends `authority` as received if it is a plausible `host[:port]`.
    static func appendAuthority(_ authority: String, to out: inout [UInt8]) throws(SignatureError) {
        let start = out.count
        out.append(contentsOf: authority.utf8)
        let bytes = out[start...]
        guard !bytes.isEmpty, bytes.count <= 255, bytes.allSatisfy(isAuthorityChar) else {
            throw SignatureError(.malformed, "Host \(Excerpt.quote(bytes)) is not a valid host[:port]")
        }
    }

    /// Appends the §2.2.3 `@authority` value: checks `authority`, lowercases it, checks `scheme`, then drops the
    /// scheme's default port.
    static func appendNormalizedAuthority(_ authority: String, scheme: String,
                                          to out: inout [UInt8]) throws(SignatureError) {
        let start = out.count
        try appendAuthority(authority, to: &out)
        lowercase(&out, from: start)
        let end = out.count
        try appendScheme(scheme, to: &out)
        let https = out.count - end == 5   // "https" (checked above) versus "http"
        out.removeSubrange(end...)
        let defaultPort: [UInt8] = https ? [0x3a, 0x34, 0x34, 0x33] : [0x3a, 0x38, 0x30]   // ":443" / ":80"
        if out.count - start >= defaultPort.count && out[(end - defaultPort.count)...].elementsEqual(defaultPort) {
            out.removeSubrange((end - defaultPort.count)...)
        }
    }

    /// Appends `target` if it is origin-form.
    static func appendTarget(_ target: String, to out: inout [UInt8]) throws(SignatureError) {
        let start = out.count
        out.append(contentsOf: target.utf8)
        let bytes = out[start...]
        guard bytes.first == UInt8(ascii: "/"), bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "#") })
        else {
            throw SignatureError(.malformed, "request target \(Excerpt.quote(bytes)) is not an origin-form "
                + "path[?query]")
        }
    }

    // MARK: - Bytes

    private static func lowercase(_ out: inout [UInt8], from start: Int) {
        for index in start..<out.count where out[index] >= 0x41 && out[index] <= 0x5a { out[index] |= 0x20 }
    }

    /// Whether lowercased `bytes` are `http` or `https`.
    private static func isHTTPScheme(_ bytes: ArraySlice<UInt8>) -> Bool {
        let http: [UInt8] = [0x68, 0x74, 0x74, 0x70]
        switch bytes.count {
        case 4: return bytes.elementsEqual(http)
        case 5: return bytes.prefix(4).elementsEqual(http) && bytes.last == UInt8(ascii: "s")
        default: return false
        }
    }

    private static func isAlphaNumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }

    /// RFC 9110 tchar.
    private static func isTokenChar(_ byte: UInt8) -> Bool {
        if isAlphaNumeric(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
        default: return false
        }
    }

    /// RFC 3986 unreserved and sub-delims, plus `:`, `[`, `]` and `%`.
    private static func isAuthorityChar(_ byte: UInt8) -> Bool {
        if isAlphaNumeric(byte) { return true }
        switch byte {
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"),
             UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="),
             UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "%"): return true
        default: return false
        }
    }
}
