/// The RFC 9421 §2.5 signature base: one `"name": value` line per covered component, then the
/// `"@signature-params"` line, joined by LF with no trailing newline.
public enum SignatureBase {
    /// The derived components this module can compute (RFC 9421 §2.2), without component parameters.
    public static let derivedComponents: Set<String> = [
        "@method", "@authority", "@scheme", "@target-uri", "@request-target", "@path", "@query",
    ]

    /// The signature base for `components` (lowercase identifiers such as `@method` or `content-digest`) over
    /// `request`, ending with `"@signature-params": <signatureParams>`.
    ///
    /// Throws `.missingComponent` for a covered header the request lacks, `.malformed` for an unknown derived
    /// component, a duplicate, a value with control or non-ASCII bytes, or a request line part that cannot be
    /// used.
    public static func build(components: [String], signatureParams: String, request: SignedRequest,
                             limits: SignatureLimits = SignatureLimits()) throws(SignatureError) -> [UInt8] {
        var seen: Set<String> = []
        var out: [UInt8] = []
        for name in components {
            guard seen.insert(name).inserted else {
                throw SignatureError(.malformed, "component \(Excerpt.quote(name)) is covered twice")
            }
            let value = try componentValue(name, of: request, limits: limits)
            out += Array("\"\(name)\": ".utf8)
            out += Array(value.utf8)
            out.append(0x0a)
        }
        out += Array("\"@signature-params\": ".utf8)
        out += Array(signatureParams.utf8)
        return out
    }

    /// The value of one component over `request` (RFC 9421 §2.1 for fields, §2.2 for derived components).
    public static func componentValue(_ name: String, of request: SignedRequest,
                                      limits: SignatureLimits = SignatureLimits()) throws(SignatureError) -> String {
        let value: String
        if name.hasPrefix("@") {
            value = try derivedValue(name, of: request)
        } else {
            guard let field = request.fieldValue(name) else {
                throw SignatureError(.missingComponent, "covered header \(Excerpt.quote(name)) is not in the request")
            }
            value = field
        }
        let bytes = value.utf8
        guard bytes.count <= limits.maxComponentValueBytes else {
            throw SignatureError(.malformed, "value of \(Excerpt.quote(name)) is \(bytes.count) bytes; at most "
                + "\(limits.maxComponentValueBytes)")
        }
        guard bytes.allSatisfy({ ($0 >= 0x20 && $0 < 0x7f) || $0 == 0x09 }) else {
            throw SignatureError(.malformed, "value of \(Excerpt.quote(name)) has control or non-ASCII bytes: "
                + Excerpt.quote(Array(bytes)))
        }
        return value
    }

    private static func derivedValue(_ name: String, of request: SignedRequest) throws(SignatureError) -> String {
        switch name {
        case "@method": return try RequestLine.method(request.method)
        case "@scheme": return try RequestLine.scheme(request.scheme)
        case "@authority": return try RequestLine.normalizedAuthority(request.authority, scheme: request.scheme)
        case "@target-uri":
            return try RequestLine.scheme(request.scheme) + "://" + RequestLine.authority(request.authority)
                + RequestLine.target(request.target)
        case "@request-target": return try RequestLine.target(request.target)
        case "@path":
            let target = try RequestLine.target(request.target)
            return String(target.prefix { $0 != "?" })
        case "@query":
            let target = try RequestLine.target(request.target)
            guard let mark = target.firstIndex(of: "?") else { return "?" }
            return String(target[mark...])
        default:
            throw SignatureError(.malformed, "derived component \(Excerpt.quote(name)) is not supported; use "
                + derivedComponents.sorted().joined(separator: ", "))
        }
    }
}
