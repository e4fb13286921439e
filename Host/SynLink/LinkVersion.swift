/// The link protocol's versions: each side's hello lists what it speaks, and the link runs the highest both do.
public enum LinkVersion {
    /// 1: messages, topics, audit heads. 2: adds app transfers (`transferOffer` …) and `appMoved`.
    public static let supported: [UInt16] = [1, 2]
    /// The first version with app transfers.
    public static let transfers: UInt16 = 2

    /// The version to run with a peer whose hello listed `peer`; `.version` when they share none.
    public static func agree(with peer: [UInt16]) throws(LinkError) -> UInt16 {
        guard let version = supported.filter(peer.contains).max() else {
            throw LinkError(.version, "the peer speaks link versions \(peer.map(String.init).joined(separator: ", ")); this node speaks \(supported.map(String.init).joined(separator: ", "))")
        }
        return version
    }
}
