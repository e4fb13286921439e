import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import Synchronization

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

    /// A 200 `application/x-ndjson` answer whose lines `work` yields, on a thread of its own (it may block); the
    /// stream ends when `work` returns. `gone` says whether the client went away (work that only reports may stop).
    static func stream(_ work: @escaping @Sendable (_ yield: @escaping @Sendable (String) -> Void, _ gone: @escaping @Sendable () -> Bool) -> Void) -> Response {
        let (lines, sink) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let ended = Atomic<Bool>(false)
        sink.onTermination = { _ in ended.store(true, ordering: .relaxed) }
        Thread.detachNewThread {
            work({ sink.yield($0) }, { ended.load(ordering: .relaxed) })
            sink.finish()
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
            for await line in lines { try await writer.write(ByteBuffer(string: line)) }
            try await writer.finish(nil)
        })
    }
}
