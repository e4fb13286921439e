#if canImport(Glibc)
import Glibc
#endif

/// An `https` URL split into what a request needs: host (without brackets), port, and the path with its query.
public struct FetchURL: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// `/path?query`, at least `/`.
    public let target: String

    /// The URL, normalized (`https://host[:port]/target`).
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "https://\(h)\(port == 443 ? "" : ":\(port)")\(target)"
    }

    /// Parses an absolute https URL; nil for anything else (another scheme, userinfo, a fragment, spaces or
    /// control characters, a bad port).
    public init?(_ text: String) {
        guard text.utf8.count <= 4096, text.hasPrefix("https://"),
              !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f || $0 == "#" || $0 == "\\" }) else { return nil }
        let rest = text.dropFirst("https://".count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host: Substring, portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        var port = 443
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { return nil }
            port = p
        }
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        self.host = host.lowercased()
        self.port = port
        let target = rest[authorityEnd...]
        self.target = target.isEmpty ? "/" : (target.hasPrefix("?") ? "/" + target : String(target))
    }

    /// `location` (absolute, or relative to this URL) as a URL.
    public func resolve(_ location: String) -> FetchURL? {
        if location.hasPrefix("https://") || location.contains("://") { return FetchURL(location) }
        let base = "https://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        if location.hasPrefix("//") { return FetchURL("https:" + location) }
        if location.hasPrefix("/") { return FetchURL(base + location) }
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let directory = path.hasSuffix("/") ? path : String(path[...(path.lastIndex(of: "/") ?? path.startIndex)])
        return FetchURL(base + directory + location)
    }

    /// Whether `host` is an IPv4 or IPv6 address rather than a name.
    public static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
