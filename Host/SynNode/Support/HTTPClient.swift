import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain HTTP/1.1 client for the CLI and the benchmarks, on SwiftNIO (already in the node for the gateway).
/// Not FoundationNetworking: that would load libcurl, OpenSSL, Kerberos and LDAP into every `syneroym` process,
/// the running node included, for about 10 MB of memory the node never uses.
enum HTTPClient {
    struct Reply: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    /// `url`'s authority, host, port and path (http only).
    static func split(_ url: String) throws(CLIError) -> (authority: String, host: String, port: Int, path: String) {
        guard url.hasPrefix("http://") else { throw CLIError("error: only http:// URLs are supported, got \(url)") }
        let rest = url.dropFirst("http://".count)
        let authority = String(rest.prefix { $0 != "/" })
        let path = rest.dropFirst(authority.count).isEmpty ? "/" : String(rest.dropFirst(authority.count))
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return (authority, String(authority[authority.index(after: authority.startIndex)..<close]),
                    Int(authority[authority.index(after: close)...].dropFirst()) ?? 80, path)
        } else if let colon = authority.lastIndex(of: ":") {
            return (authority, String(authority[..<colon]), Int(authority[authority.index(after: colon)...]) ?? 80, path)
        }
        return (authority, authority, 80, path)
    }

    /// A fresh HTTP/1.1 connection, within 10 s.
    private static func connect(host: String, port: Int) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// One request on a fresh connection to `url` (http only), with `headers` as given and `Host` from the URL.
    static func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8] = [],
                     timeoutSeconds: Int64 = 120) async throws(CLIError) -> Reply {
        let (authority, host, port, path) = try split(url)
        do {
            let channel = try await connect(host: host, port: port)
            return try await channel.executeThenClose { inbound, outbound in
                var fields = HTTPHeaders([("Host", authority), ("Content-Length", String(body.count)), ("Connection", "close")])
                for (name, value) in headers { fields.add(name: name, value: value) }
                var parts: [HTTPClientRequestPart] = [.head(HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method),
                                                                               uri: path, headers: fields))]
                if !body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                parts.append(.end(nil))
                // A node may answer (and close, as asked) before the last part is written: its answer still counts.
                var writeError: (any Error)?
                do { try await outbound.write(contentsOf: parts) } catch { writeError = error }
                var status = 0, replyHeaders: [(String, String)] = [], data: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        status = Int(head.status.code)
                        replyHeaders = head.headers.map { ($0.name, $0.value) }
                    case .body(let buffer):
                        data += Array(buffer.readableBytesView)
                        if data.count > 64 << 20 { throw CLIError("error: the answer from \(authority) is larger than 64 MiB") }
                    case .end:
                        return Reply(status: status, headers: replyHeaders, body: data)
                    }
                }
                if let writeError { throw writeError }
                throw CLIError("error: \(authority) closed the connection before answering")
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("error: cannot reach the node at \(authority): \(error) (is `syneroym run` running? --node URL)")
        }
    }

    /// A request (a `GET` by default) whose body arrives in pieces (a stream of server-sent events): `onHead` gets the status (a non-2xx
    /// answer's body is collected and returned), `onBody` each piece of a 2xx body until it returns false or
    /// the node ends the response. Returns the status and any collected error body.
    static func stream(_ url: String, method: String = "GET", body: [UInt8] = [], accept: String = "text/event-stream",
                       headers: [(String, String)], onHead: @escaping @Sendable (Int) -> Void = { _ in },
                       onBody: @escaping @Sendable ([UInt8]) -> Bool) async throws(CLIError) -> (status: Int, body: [UInt8]) {
        let (authority, host, port, path) = try split(url)
        do {
            let channel = try await connect(host: host, port: port)
            return try await channel.executeThenClose { inbound, outbound in
                var fields = HTTPHeaders([("Host", authority), ("Accept", accept)])
                for (name, value) in headers { fields.add(name: name, value: value) }
                if !body.isEmpty || method != "GET" { fields.add(name: "Content-Length", value: String(body.count)) }
                var parts: [HTTPClientRequestPart] = [.head(HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: fields))]
                if !body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                parts.append(.end(nil))
                try await outbound.write(contentsOf: parts)
                var status = 0, errorBody: [UInt8] = []
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        status = Int(head.status.code)
                        onHead(status)
                    case .body(let buffer):
                        let bytes = Array(buffer.readableBytesView)
                        if (200..<300).contains(status) {
                            if !onBody(bytes) { return (status, []) }
                        } else if errorBody.count < 1 << 20 {
                            errorBody += bytes
                        }
                    case .end:
                        return (status, errorBody)
                    }
                }
                return (status, errorBody)
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("error: cannot reach the node at \(authority): \(error) (is `syneroym run` running? --node URL)")
        }
    }
}
