public import SynConfig

/// A peer as an owner names it: `NODE_ID@HOST:PORT`, the node id being the peer's public key in base64url (what
/// `syneroym keys show` prints) and HOST a name, an IPv4 address or a bracketed IPv6 address.
public struct PeerAddress: Sendable, Equatable, CustomStringConvertible {
    public let nodeID: String
    public let host: String
    public let port: Int

    public init(nodeID: String, host: String, port: Int) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
    }

    /// Parses `text`; the error says what is wrong and what the form is.
    public init(parsing text: String) throws(FederationError) {
        let form = "a peer is NODE_ID@HOST:PORT, e.g. JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs@192.168.1.20:7421"
        guard let at = text.firstIndex(of: "@") else { throw FederationError(.badPeer, "\"\(text.prefix(200))\" has no @; \(form)") }
        let id = String(text[..<at]), rest = text[text.index(after: at)...]
        guard NameRules.isNodeID(id) else {
            throw FederationError(.badPeer, "\"\(id.prefix(100))\" is not a node id (43 base64url characters); \(form)")
        }
        guard let (host, port) = GatewaySettings.split(String(rest)), port > 0, host.utf8.count <= 253,
              host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:".unicodeScalars.contains($0)) })
        else { throw FederationError(.badPeer, "\"\(rest.prefix(300))\" is not HOST:PORT; \(form)") }
        self.init(nodeID: id, host: host, port: port)
    }

    public var description: String { "\(nodeID)@\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
