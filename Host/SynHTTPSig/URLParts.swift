/// An absolute `http`/`https` URL split into what a request signature needs.
struct URLParts: Equatable {
    /// Lowercased scheme.
    let scheme: String
    /// `host[:port]` exactly as written.
    let authority: String
    /// Path and query (`/` when the URL has no path).
    let target: String

    /// Splits `url`; refuses (`.malformed`) other schemes, user info, fragments, empty hosts, and bytes outside
    /// printable ASCII.
    static func parse(_ url: String) throws(SignatureError) -> URLParts {
        let bytes = Array(url.utf8)
        guard !bytes.isEmpty, bytes.count <= 8192, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw SignatureError(.malformed, "URL \(Excerpt.quote(bytes)) is empty, too long, or not printable ASCII")
        }
        guard let separator = url.firstRange(of: "://") else {
            throw SignatureError(.malformed, "URL \(Excerpt.quote(url)) is not absolute (no \"://\")")
        }
        let scheme = HeaderName.lowercased(String(url[..<separator.lowerBound]))
        guard scheme == "http" || scheme == "https" else {
            throw SignatureError(.malformed, "URL scheme \(Excerpt.quote(scheme)) is not http or https")
        }
        let rest = url[separator.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = String(rest[..<authorityEnd])
        var target = String(rest[authorityEnd...])
        guard !authority.isEmpty, !authority.contains("@") else {
            throw SignatureError(.malformed, "URL authority \(Excerpt.quote(authority)) is empty or has user info")
        }
        guard !target.contains("#") else {
            throw SignatureError(.malformed, "URL \(Excerpt.quote(url)) has a fragment; fragments are never sent")
        }
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        return URLParts(scheme: scheme, authority: authority, target: target)
    }
}
