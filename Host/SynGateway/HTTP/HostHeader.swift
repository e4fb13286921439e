import HTTPTypes

/// RFC 9112 §3.2: a request has exactly one `Host` header. The HTTP/1 codec makes the first one the request's
/// authority and leaves any other among the fields.
enum HostHeader {
    static let field = HTTPField.Name("Host")

    /// The 400 for a request with no `Host` header or more than one; nil for one.
    static func problem(_ request: HTTPRequest) -> APIError? {
        guard let authority = request.authority, !authority.isEmpty else {
            return APIError(.badRequest, "bad_host", "the request has no Host header; HTTP/1.1 requires exactly one (RFC 9112 section 3.2)")
        }
        if let field, request.headerFields[field] != nil {
            return APIError(.badRequest, "bad_host", "the request has more than one Host header; HTTP/1.1 requires exactly one (RFC 9112 section 3.2)")
        }
        return nil
    }
}
