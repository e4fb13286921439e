/// Which peer keys a session accepts: exactly the node it dialled (outbound), or the ones the node owner allows
/// (inbound).
public enum PeerPolicy: Sendable {
    case exactly([UInt8])
    case accepting(@Sendable ([UInt8]) -> Bool)

    func accepts(_ key: [UInt8]) -> Bool {
        switch self {
        case .exactly(let expected): key == expected
        case .accepting(let decide): decide(key)
        }
    }
}
