import HTTPTypes

/// A response as the event-loop path writes it: status, headers and the whole body.
struct AppAnswer: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: [UInt8]

    init(status: HTTPResponse.Status, headers: HTTPFields, body: [UInt8]) {
        self.status = status
        var fields = headers
        // App answers share the origin of the node's pages (and the keys their browser holds): a browser sent to
        // one reads it as the type the node gave it, and runs nothing in it.
        fields[.xContentTypeOptions] = "nosniff"
        fields[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        self.headers = fields
        self.body = body
    }

    /// A JSON body (see `GatewayJSON.encode`), with its content type.
    init(status: HTTPResponse.Status, headers: HTTPFields, json: [String: Any]) {
        var fields = headers
        fields[.contentType] = "application/json"
        self.init(status: status, headers: fields, body: GatewayJSON.encode(json))
    }
}
