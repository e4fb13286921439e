public import NIOCore
import NIOHTTP1
import NIOPosix
import SynLink
import SynSystem
public import SynConfig
public import SynTLS
#if canImport(Glibc)
import Glibc
#endif

/// `net_request`'s HTTP client: HTTP/1.1 (NIOHTTP1) over GnuTLS, the node's one TLS library, with the system's
/// certificate authorities (`WebTrust`). It resolves every name itself, refuses addresses that are not public unless
/// the grant names them, and connects to the address it checked, so a name cannot be re-pointed between the check
/// and the connection (DNS rebinding). Redirects are followed by hand (at most five), each checked like the first
/// URL. The response is read up to `maxResponseBytes`, and everything ends by the call's deadline.
///
/// Not AsyncHTTPClient: it resolves names and connects inside NIO, where the address cannot be checked before the
/// connection, and it brings a second TLS library (BoringSSL through swift-nio-ssl) into the node.
public final class FetchClient: Sendable {
    /// What a URL's grant allows: nothing, or the URL and, when the grant names this very address, a non-public one.
    public enum Permit: Sendable, Equatable {
        case denied(String)
        case allowed(privateAddress: Bool)
    }

    public struct Response: Sendable, Equatable {
        public let status: Int
        public let body: [UInt8]
    }

    let trust: WebTrust
    let group: any EventLoopGroup
    public let maxResponseBytes: Int
    static let maxRedirects = 5

    public init(trust: WebTrust, group: any EventLoopGroup, maxResponseBytes: Int) {
        self.trust = trust
        self.group = group
        self.maxResponseBytes = maxResponseBytes
    }

    /// Runs the request on the calling thread (never an event loop), following redirects, until `deadlineNs`
    /// (`MonotonicClock`).
    public func fetch(method: String, url: FetchURL, headers: [(String, String)], body: [UInt8], deadlineNs: Int64,
                      permit: (FetchURL) -> Permit) throws(FetchError) -> Response {
        var method = method, url = url, body = body
        for _ in 0...Self.maxRedirects {
            let allowPrivate: Bool
            switch permit(url) {
            case .denied(let why): throw FetchError(.denied, why)
            case .allowed(let p): allowPrivate = p
            }
            let address = try Self.resolve(url, allowPrivate: allowPrivate)
            let response = try exchange(method: method, url: url, address: address, headers: headers, body: body, deadlineNs: deadlineNs)
            guard [301, 302, 303, 307, 308].contains(response.status) else {
                return Response(status: response.status, body: response.body)
            }
            guard let location = response.location, let next = url.resolve(location) else {
                throw FetchError(.network, "\(url) answered \(response.status) without a usable https Location")
            }
            if response.status == 303 || ((response.status == 301 || response.status == 302) && method == "POST") {
                method = "GET"
                body = []
            }
            url = next
        }
        throw FetchError(.network, "more than \(Self.maxRedirects) redirects")
    }

    /// The address to connect to: the first public one the name resolves to (or, when the grant names the address,
    /// that one).
    static func resolve(_ url: FetchURL, allowPrivate: Bool) throws(FetchError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let r = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard r == 0, let list else {
            throw FetchError(.network, "cannot resolve \(url.host): \(String(cString: gai_strerror(r)))")
        }
        defer { freeaddrinfo(list) }
        var seen: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = list
        while let entry = node {
            node = entry.pointee.ai_next
            guard let sa = entry.pointee.ai_addr else { continue }
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(sa, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let ip = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let address = try? SocketAddress(ipAddress: ip, port: url.port) else { continue }
            seen.append(ip)
            if allowPrivate || AddressRules.isPublic(ip) { return address }
        }
        throw FetchError(.forbiddenAddress, "\(url.host) resolves to \(seen.joined(separator: ", ")), which is not a public address "
                         + "(loopback, private or link-local); a net.fetch grant that names the address itself, such as "
                         + "\"https://\(seen.first ?? "10.0.0.5"):\(url.port)/\", allows it")
    }

    struct Exchange {
        let status: Int
        let location: String?
        let body: [UInt8]
    }

    private func exchange(method: String, url: FetchURL, address: SocketAddress, headers: [(String, String)], body: [UInt8],
                          deadlineNs: Int64) throws(FetchError) -> Exchange {
        let remaining = deadlineNs - MonotonicClock.nowNs()
        guard remaining > 0 else { throw FetchError(.timeout, "the call's time ran out before \(url)") }
        let loop = group.next()
        let promise = loop.makePromise(of: Exchange.self)
        let session: TLSSession
        do { session = try TLSSession(webServer: url.host, trust: trust) } catch { throw FetchError(.network, error.message) }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: url.target)
        head.headers.add(name: "Host", value: url.port == 443 ? url.host : "\(url.host):\(url.port)")
        head.headers.add(name: "User-Agent", value: "syneroym-node")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Length", value: String(body.count))
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let max = maxResponseBytes
        let timer = loop.scheduleTask(in: .nanoseconds(remaining)) {
            promise.fail(FetchError(.timeout, "\(url) did not answer within the call's time"))
        }
        ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(remaining))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        TLSChannelHandler(session: session, role: .client, handshakeTimeout: .nanoseconds(remaining)),
                        HTTPRequestEncoder(),
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)),
                        ResponseCollector(promise: promise, maxBytes: max, url: url.description),
                    ])
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    promise.fail(FetchError(.network, "cannot connect to \(url.host) (\(address.ipAddress ?? "?")): \(error)"))
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    if !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil) }
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                }
            }
        defer { timer.cancel() }
        do { return try promise.futureResult.wait() } catch let error as FetchError { throw error } catch {
            throw FetchError(.network, "\(url): \(error)")
        }
    }
}

/// Collects one response: its status, `Location`, and at most `maxBytes` of body.
final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<FetchClient.Exchange>
    let maxBytes: Int
    let url: String
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    /// Set once the promise is completed: what happens after (the close) changes nothing.
    private var finished = false

    init(promise: EventLoopPromise<FetchClient.Exchange>, maxBytes: Int, url: String) {
        self.promise = promise
        self.maxBytes = maxBytes
        self.url = url
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            if let length = h.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBytes {
                fail(context, FetchError(.tooLarge, "\(url) answers \(length) bytes; at most \(maxBytes) are read (node.toml [fetch] max_response_kb)"))
            }
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= maxBytes else {
                return fail(context, FetchError(.tooLarge, "\(url) answered more than \(maxBytes) bytes (node.toml [fetch] max_response_kb)"))
            }
            body += buffer.readableBytesView
        case .end:
            guard let head else { return fail(context, FetchError(.network, "\(url): no response head")) }
            guard !finished else { return }
            finished = true
            promise.succeed(.init(status: Int(head.status.code), location: head.headers.first(name: "Location"), body: body))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let text = (error as? TLSError).map { "TLS: \($0.message)" } ?? "\(error)"
        fail(context, FetchError(.network, "\(url): \(text)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            promise.fail(FetchError(.network, "\(url) closed the connection before the response ended"
                                    + (head.map { " (status \($0.status.code), \(body.count) body bytes read)" } ?? " (no response head)")))
        }
        context.fireChannelInactive()
    }

    private func fail(_ context: ChannelHandlerContext, _ error: FetchError) {
        if !finished {
            finished = true
            promise.fail(error)
        }
        context.close(promise: nil)
    }
}
