import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import SynConfig
import SynHTTPSig
import SynSodium

/// RFC 9421 request authentication: a signed request yields its verified caller key; an unsigned one yields none.
/// A request that carries a signature must verify: a bad signature is never downgraded to anonymous.
///
/// A signature must name this node (`@authority`, see `AuthorityList`), and its replay entries are charged to the
/// client that sent it, or to no one for the node's owners (see `ReplayCache`).
struct SignatureCheck: Sendable {
    let verifier: SignatureVerifier
    let metrics: GatewayMetrics
    let authorities: AuthorityList
    let owners: Set<String>
    /// `[gateway] trusted_proxies`, as `SocketAddress.ipAddress` writes them.
    let trustedProxies: Set<String>

    init(settings: GatewaySettings, owners: [String], metrics: GatewayMetrics) {
        verifier = SignatureVerifier(configuration: .init(window: Int64(settings.signatureWindowS),
                                                          futureSkew: Int64(settings.signatureFutureS)),
                                     replayCache: ReplayCache(capacity: settings.replayCacheEntries,
                                                              perClient: settings.replayEntriesPerClient))
        self.metrics = metrics
        authorities = AuthorityList(names: settings.names, tlsNames: settings.tlsNames)
        trustedProxies = Set(settings.trustedProxies.compactMap { Self.plainIP(try? SocketAddress(ipAddress: $0, port: 0)) })
        self.owners = Set(owners)
    }

    /// The client a request counts against: the connection's address, or, when that is a trusted proxy, the
    /// nearest address in `X-Forwarded-For` that is not one (each proxy appends the address it got the request
    /// from, so entries to the left of the last untrusted one could be anyone's words). A nearest entry that is
    /// not an address counts against one shared bucket, never the proxy's own.
    static func clientKey(of request: HTTPRequest, from connection: SocketAddress?, trusting proxies: Set<String>) -> String {
        guard let ip = plainIP(connection), proxies.contains(ip),
              let forwarded = request.headerFields[.init("X-Forwarded-For")!] else {
            return AuthorityList.clientKey(connection)
        }
        // Only the nearest few entries matter, however long the header.
        for entry in forwarded.split(separator: ",").suffix(32).reversed() {
            let text = entry.trimmingCharacters(in: .whitespaces)
            guard let address = try? SocketAddress(ipAddress: text, port: 0) else { return "x-forwarded-for: not an address" }
            if let normal = plainIP(address), proxies.contains(normal) { continue }
            return AuthorityList.clientKey(address)
        }
        return AuthorityList.clientKey(connection)
    }

    /// An address as text, an IPv4 address mapped into IPv6 (a dual-stack listener's view of it) written as IPv4.
    static func plainIP(_ address: SocketAddress?) -> String? {
        guard let ip = address?.ipAddress else { return nil }
        if ip.lowercased().hasPrefix("::ffff:"), ip.contains(".") { return String(ip.dropFirst(7)) }
        return ip
    }

    /// Whether the request's `Signature-Input` names one of the node's owners as its `keyid`: a cheap filter, before
    /// a large body is read, that proves nothing (the signature is checked once the body is in).
    static func claimsOwner(_ request: HTTPRequest, owners: Set<String>) -> Bool {
        guard let input = request.headerFields[.signatureInput], input.utf8.count <= 4096,
              let start = input.range(of: "keyid=\"") else { return false }
        let rest = input[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return false }
        return owners.contains(String(rest[..<end]))
    }

    /// Whether the request carries a signature at all.
    static func isSigned(_ request: HTTPRequest) -> Bool {
        request.headerFields[.signature] != nil || request.headerFields[.signatureInput] != nil
    }

    /// The caller's public key, or empty when the request is unsigned. Throws 401 (429 when this client holds its
    /// share of the replay cache, 503 when it is full) naming what was wrong.
    func caller(of request: HTTPRequest, body: [UInt8], bodyDigest: [UInt8]? = nil, client: SocketAddress?) throws(APIError) -> [UInt8] {
        try signature(of: request, body: body, bodyDigest: bodyDigest, client: client)?.publicKey ?? []
    }

    /// The verified signature (its key and the components it covers), or nil when the request is unsigned.
    func signature(of request: HTTPRequest, body: [UInt8], bodyDigest: [UInt8]? = nil, client: SocketAddress?) throws(APIError) -> VerifiedSignature? {
        guard Self.isSigned(request) else { return nil }
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = #"Signature realm="syneroym", alg="ed25519""#
        let authority = request.authority ?? ""
        guard authorities.accepts(authority) else {
            metrics.signatureRejected("signature_wrong_authority")
            throw APIError(.unauthorized, "signature_wrong_authority",
                           "the request names authority \"\(authority.prefix(64))\", which is not this node (it answers to "
                           + "\(authorities.summary)); sign it for this node's address, or add the name to node.toml [gateway] names",
                           headers: headers)
        }
        let fields = request.headerFields.map { SynHTTPSig.HTTPField(name: $0.name.rawName, value: $0.value) }
        // Through a TLS proxy the node sees plain HTTP, but the client signed the https URI it used.
        var signed = SignedRequest(method: request.method.rawValue, scheme: authorities.scheme(for: authority) ?? request.scheme ?? "http",
                                   authority: authority, target: request.path ?? "",
                                   headers: fields, body: body)
        signed.bodyDigest = bodyDigest
        let clientKey = Self.clientKey(of: request, from: client, trusting: trustedProxies)
        let owners = self.owners
        do {
            return try verifier.verify(signed, now: Int64(Date().timeIntervalSince1970)) { keyID in
                owners.contains(keyID) ? .owner : .client(clientKey)
            }
        } catch {
            metrics.signatureRejected(error.code.wireCode)
            let status = HTTPResponse.Status(code: error.code.httpStatus)
            throw APIError(status, error.code.wireCode, error.message + " (docs/request-signing.md)", headers: headers)
        }
    }
}
