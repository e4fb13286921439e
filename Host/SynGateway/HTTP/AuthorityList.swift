import NIOCore
import SynConfig
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The authorities (`Host` values) this node answers to, which a signed request's `@authority` must name, so a
/// request signed for one node cannot be replayed to another.
///
/// They are node.toml `[gateway] names` and `tls_names` (`host`, any port; or `host:port`), plus the bound listen address, plus
/// `localhost`, `127.0.0.1` and `[::1]` when it listens on loopback or on every address, plus each of this
/// machine's interface addresses when it listens on every address, all with the bound port.
final class AuthorityList: Sendable {
    private let state: Mutex<(exact: Set<String>, anyPort: Set<String>)>
    /// `[gateway] tls_names`: names reached through a TLS proxy, whose requests were signed as `https`.
    private let tls: (exact: Set<String>, anyPort: Set<String>)

    init(names: [String], tlsNames: [String] = []) {
        func sorted(_ names: [String]) -> (exact: Set<String>, anyPort: Set<String>) {
            var exact: Set<String> = [], anyPort: Set<String> = []
            for name in names.map({ $0.lowercased() }) {
                if Self.split(name).port == nil { anyPort.insert(name) } else { exact.insert(name) }
            }
            return (exact, anyPort)
        }
        state = Mutex(sorted(names + tlsNames))
        tls = sorted(tlsNames)
    }

    /// The scheme a request for `authority` was signed with: `https` for a name reached through a TLS proxy, else
    /// nil (the connection's own).
    func scheme(for authority: String) -> String? {
        let lower = authority.lowercased()
        return tls.exact.contains(lower) || tls.anyPort.contains(Self.split(lower).host) ? "https" : nil
    }

    /// Adds the listen address once the port is bound.
    func bind(host: String, port: Int) {
        let host = host.lowercased()
        var added: [String] = [Self.join(host, port)]
        let wildcard = host == "0.0.0.0" || host == "::"
        if wildcard || host == "127.0.0.1" || host == "::1" || host == "localhost" {
            added += ["localhost", "127.0.0.1", "::1"].map { Self.join($0, port) }
        }
        if wildcard { added += Self.interfaceAddresses().map { Self.join($0, port) } }
        state.withLock { $0.exact.formUnion(added) }
    }

    /// Whether `authority` (a `Host` value) names this node.
    func accepts(_ authority: String) -> Bool {
        let lower = authority.lowercased()
        return state.withLock { s in s.exact.contains(lower) || s.anyPort.contains(Self.split(lower).host) }
    }

    /// A few accepted names, for messages.
    var summary: String {
        state.withLock { s in (s.exact.sorted() + s.anyPort.sorted()).prefix(6).joined(separator: ", ") }
    }

    /// `host:port`, bracketing an IPv6 address.
    static func join(_ host: String, _ port: Int) -> String { GatewaySettings.authority(host: host, port: port) }

    /// The host and port of `host[:port]` (`[v6]:port` too).
    static func split(_ authority: String) -> (host: String, port: Int?) {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        guard let colon = authority.lastIndex(of: ":"), authority.firstIndex(of: ":") == colon else { return (authority, nil) }
        return (String(authority[..<colon]), Int(authority[authority.index(after: colon)...]))
    }

    /// This machine's IPv4 and IPv6 interface addresses.
    static func interfaceAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var out: [String] = []
        var next: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = next {
            defer { next = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr else { continue }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                    var a = v4.pointee.sin_addr
                    if inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count)) != nil { out.append(String(cString: buffer)) }
                }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    var a = v6.pointee.sin6_addr
                    if inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count)) != nil { out.append(String(cString: buffer)) }
                }
            default: continue
            }
        }
        return out
    }

    /// Whom a replay entry is charged to: the client's address, an IPv6 client's /64 (one host has many).
    static func clientKey(_ address: SocketAddress?) -> String {
        switch address {
        case .v4?:
            return address?.ipAddress ?? "?"
        case .v6(let a)?:
            var bytes = a.address.sin6_addr
            let prefix = withUnsafeBytes(of: &bytes) { Array($0.prefix(8)) }
            if prefix == [0, 0, 0, 0, 0, 0, 0, 0] { return address?.ipAddress ?? "?" } // v4-mapped and loopback
            return prefix.map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
        default:
            return address?.ipAddress ?? "unix"
        }
    }
}
