import NIOCore
import Synchronization

/// Open connections per client (an address; an IPv6 /64) and in all, shared by every connection's
/// `ConnectionLimitHandler`: one client cannot hold more than its share, and the node keeps file descriptors free
/// for new clients, its databases and its workers.
final class ConnectionCounter: Sendable {
    let perClient: Int
    let total: Int
    /// `[gateway] trusted_proxies`: they carry many clients' connections, so only the total binds them.
    let proxies: Set<String>
    private let state = Mutex<(byClient: [String: Int], total: Int)>(([:], 0))

    init(perClient: Int, total: Int, proxies: Set<String> = []) {
        self.perClient = max(1, perClient)
        self.total = max(1, total)
        self.proxies = proxies
    }

    /// Counts a new connection from `client` (`proxy`: from a trusted proxy's address); false (and nothing counted)
    /// when it is one too many.
    func open(_ client: String, proxy: Bool = false) -> Bool {
        state.withLock { s in
            guard s.total < total, proxy || s.byClient[client, default: 0] < perClient else { return false }
            s.total += 1
            s.byClient[client, default: 0] += 1
            return true
        }
    }

    func close(_ client: String) {
        state.withLock { s in
            s.total -= 1
            let left = (s.byClient[client] ?? 1) - 1
            s.byClient[client] = left > 0 ? left : nil
        }
    }

    /// Connections open now.
    var open: Int { state.withLock { $0.total } }
}

/// The first handler of every connection: closes it at once when its client already has its share of
/// connections open (`[gateway] max_connections_per_client`) or the node has as many as it keeps room for.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let counter: ConnectionCounter

    init(counter: ConnectionCounter) { self.counter = counter }

    func handlerAdded(context: ChannelHandlerContext) {
        let client = AuthorityList.clientKey(context.channel.remoteAddress)
        // A proxy is known by its whole address (an IPv6 client key is its /64).
        let proxies = self.counter.proxies
        let proxy = SignatureCheck.plainIP(context.channel.remoteAddress).map { proxies.contains($0) } ?? false
        guard counter.open(client, proxy: proxy) else {
            context.close(promise: nil)
            return
        }
        let counter = self.counter
        context.channel.closeFuture.whenComplete { _ in counter.close(client) }
    }
}
