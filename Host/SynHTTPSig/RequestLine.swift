/// Validation and normalisation of the request-line parts a server hands in.
enum RequestLine {
    /// `method` if it is an RFC 9110 token.
    static func method(_ method: String) throws(SignatureError) -> String {
        let tchars = Array("!#$%&'*+-.^_`|~".utf8)
        let bytes = Array(method.utf8)
        guard !bytes.isEmpty, bytes.count <= 32, bytes.allSatisfy({ isAlphaNumeric($0) || tchars.contains($0) }) else {
            throw SignatureError(.malformed, "request method \(Excerpt.quote(bytes)) is not an HTTP token")
        }
        return method
    }

    /// `http` or `https`, lowercased.
    static func scheme(_ scheme: String) throws(SignatureError) -> String {
        let lowered = HeaderName.lowercased(scheme)
        guard lowered == "http" || lowered == "https" else {
            throw SignatureError(.malformed, "request scheme \(Excerpt.quote(scheme)) is not http or https")
        }
        return lowered
    }

    /// `authority` (the Host value) as received, if it is a plausible `host[:port]`: non-empty, at most 255 bytes,
    /// only RFC 3986 unreserved, sub-delims, `:`, `[`, `]` and `%`, no user info.
    static func authority(_ authority: String) throws(SignatureError) -> String {
        let allowed = Array("-._~!$&'()*+,;=:[]%".utf8)
        let bytes = Array(authority.utf8)
        guard !bytes.isEmpty, bytes.count <= 255, bytes.allSatisfy({ isAlphaNumeric($0) || allowed.contains($0) }) else {
            throw SignatureError(.malformed, "Host \(Excerpt.quote(bytes)) is not a valid host[:port]")
        }
        return authority
    }

    /// RFC 9421 §2.2.3 `@authority`: host lowercased, `:80` removed for http and `:443` for https.
    static func normalizedAuthority(_ authority: String, scheme: String) throws(SignatureError) -> String {
        let lowered = HeaderName.lowercased(try Self.authority(authority))
        let defaultPort = try Self.scheme(scheme) == "https" ? ":443" : ":80"
        if lowered.hasSuffix(defaultPort) { return String(lowered.dropLast(defaultPort.count)) }
        return lowered
    }

    /// `target` if it is origin-form: starts with `/`, printable ASCII without spaces, no fragment.
    static func target(_ target: String) throws(SignatureError) -> String {
        let bytes = Array(target.utf8)
        guard bytes.first == UInt8(ascii: "/"), bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "#") })
        else {
            throw SignatureError(.malformed, "request target \(Excerpt.quote(bytes)) is not an origin-form "
                + "path[?query]")
        }
        return target
    }

    private static func isAlphaNumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }
}
