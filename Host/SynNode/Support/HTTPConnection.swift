import NIOCore
import NIOHTTP1
import NIOPosix

/// One kept-alive HTTP/1.1 connection for the benchmarks' load clients: requests one after another on the same
/// socket, so a run measures the node and not connection setup. Not for the CLI (`HTTPClient` is).
final class HTTPConnection: @unchecked Sendable {
    private let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private let authority: String

    init(host: String, port: Int) async throws {
        authority = "\(host):\(port)"
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        // The channel's streams are taken once and kept for the connection's life (one request at a time).
        inbound = channel.inbound.makeAsyncIterator()
        outbound = channel.outbound
    }

    /// One request and its whole answer: the status and the body.
    func send(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]) async throws -> (status: Int, body: [UInt8]) {
        var fields = HTTPHeaders([("Host", authority), ("Content-Length", String(body.count))])
        for (name, value) in headers { fields.add(name: name, value: value) }
        var parts: [HTTPClientRequestPart] = [.head(HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: fields))]
        if !body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        parts.append(.end(nil))
        try await outbound.write(contentsOf: parts)
        var status = 0, data: [UInt8] = []
        while let part = try await inbound.next() {
            switch part {
            case .head(let head): status = Int(head.status.code)
            case .body(let buffer): data += Array(buffer.readableBytesView)
            case .end: return (status, data)
            }
        }
        throw CLIError("error: \(authority) closed the connection")
    }

    /// Closes the connection; call it on every path (the channel's writer must be finished before it goes away).
    func close() async {
        outbound.finish()
        try? await channel.channel.close()
    }
}
