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
        try build(components: components, signatureParams: signatureParams.utf8, request: request, limits: limits)
    }

    /// `build` with the `@signature-params` value given as bytes.
    static func build<Params: Collection<UInt8>>(components: [String], signatureParams: Params,
                                                 request: SignedRequest,
                                                 limits: SignatureLimits) throws(SignatureError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(estimatedSize(components: components, signatureParams: signatureParams.count,
                                          request: request))
        var seen: Set<String> = []
        let useSet = components.count > 16
        for (position, name) in components.enumerated() {
            // Duplicates by String equality, as a Set<String> finds them; a linear scan for the usual few names.
            let duplicate = useSet ? !seen.insert(name).inserted : components[..<position].contains(name)
            guard !duplicate else {
                throw SignatureError(.malformed, "component \(Excerpt.quote(name)) is covered twice")
            }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":"), UInt8(ascii: " ")])
            try appendComponentValue(name, of: request, limits: limits, to: &out)
            out.append(0x0a)
        }
        out.append(contentsOf: "\"@signature-params\": ".utf8)
        out.append(contentsOf: signatureParams)
        return out
    }

    /// The value of one component over `request` (RFC 9421 §2.1 for fields, §2.2 for derived components).
    public static func componentValue(_ name: String, of request: SignedRequest,
                                      limits: SignatureLimits = SignatureLimits()) throws(SignatureError) -> String {
        var out: [UInt8] = []
        try appendComponentValue(name, of: request, limits: limits, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the value of component `name` over `request` to `out` and checks it: at most
    /// `limits.maxComponentValueBytes` bytes, only printable ASCII and HTAB.
    static func appendComponentValue(_ name: String, of request: SignedRequest, limits: SignatureLimits,
                                     to out: inout [UInt8]) throws(SignatureError) {
        let start = out.count
        if isDerivedName(name) {
            try appendDerivedValue(name, of: request, to: &out)
        } else {
            guard request.appendFieldValue(name, to: &out) else {
                throw SignatureError(.missingComponent, "covered header \(Excerpt.quote(name)) is not in the request")
            }
        }
        let bytes = out[start...]
        guard bytes.count <= limits.maxComponentValueBytes else {
            throw SignatureError(.malformed, "value of \(Excerpt.quote(name)) is \(bytes.count) bytes; at most "
                + "\(limits.maxComponentValueBytes)")
        }
        guard bytes.allSatisfy({ ($0 >= 0x20 && $0 < 0x7f) || $0 == 0x09 }) else {
            throw SignatureError(.malformed, "value of \(Excerpt.quote(name)) has control or non-ASCII bytes: "
                + Excerpt.quote(bytes))
        }
    }

    /// `name.hasPrefix("@")`. When the byte after `@` is ASCII (or there is none) the first Character is `@` alone,
    /// so the byte test decides; otherwise Character semantics are asked directly.
    static func isDerivedName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first, first == UInt8(ascii: "@") else { return false }
        let second = utf8.index(after: utf8.startIndex)
        if second == utf8.endIndex || utf8[second] < 0x80 { return true }
        return name.hasPrefix("@")
    }

    /// `derivedComponents.contains(name)`, without hashing.
    static func isSupportedDerived(_ name: String) -> Bool {
        switch name {
        case "@method", "@authority", "@scheme", "@target-uri", "@request-target", "@path", "@query": true
        default: false
        }
    }

    private static func appendDerivedValue(_ name: String, of request: SignedRequest,
                                           to out: inout [UInt8]) throws(SignatureError) {
        switch name {
        case "@method": try RequestLine.appendMethod(request.method, to: &out)
        case "@scheme": try RequestLine.appendScheme(request.scheme, to: &out)
        case "@authority":
            try RequestLine.appendNormalizedAuthority(request.authority, scheme: request.scheme, to: &out)
        case "@target-uri":
            try RequestLine.appendScheme(request.scheme, to: &out)
            out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "/")])
            try RequestLine.appendAuthority(request.authority, to: &out)
            try RequestLine.appendTarget(request.target, to: &out)
        case "@request-target": try RequestLine.appendTarget(request.target, to: &out)
        case "@path":
            let start = out.count
            try RequestLine.appendTarget(request.target, to: &out)
            if let mark = out[start...].firstIndex(of: UInt8(ascii: "?")) { out.removeSubrange(mark...) }
        case "@query":
            let start = out.count
            try RequestLine.appendTarget(request.target, to: &out)
            if let mark = out[start...].firstIndex(of: UInt8(ascii: "?")) {
                out.removeSubrange(start..<mark)
            } else {
                out.removeSubrange(start...)
                out.append(UInt8(ascii: "?"))
            }
        default:
            throw SignatureError(.malformed, "derived component \(Excerpt.quote(name)) is not supported; use "
                + derivedComponents.sorted().joined(separator: ", "))
        }
    }

    /// A capacity that usually fits the whole base, so it is allocated once.
    private static func estimatedSize(components: [String], signatureParams: Int, request: SignedRequest) -> Int {
        var size = signatureParams + 22 + 2 * request.target.utf8.count + 2 * request.authority.utf8.count
        for name in components { size += name.utf8.count + 16 }
        for field in request.headers { size += field.value.utf8.count }
        return min(size, 1 << 16)
    }
}
