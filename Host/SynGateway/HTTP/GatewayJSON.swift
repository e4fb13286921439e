import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// JSON bodies the gateway writes. Values are built with `JSONSerialization` types, so nothing is hand-escaped.
enum GatewayJSON {
    static func error(code: String, message: String, requestID: String) -> [String: Any] {
        ["error": ["code": code, "message": message], "request_id": requestID]
    }

    static func response(_ status: HTTPResponse.Status, _ object: [String: Any], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: encode(object))))
    }

    /// Sorted keys, slashes unescaped.
    static func encode(_ object: [String: Any]) -> [UInt8] {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return Array(#"{"error":{"code":"internal","message":"unencodable response"}}"#.utf8)
        }
        return Array(data)
    }

    /// `object` as one line of NDJSON, newline included.
    static func line(_ object: [String: Any]) -> String { String(decoding: encode(object), as: UTF8.self) + "\n" }
}
