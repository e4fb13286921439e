import SynSodium

/// One audit record. `hash` chains it to the previous entry: SHA-256 over every field and `previousHash`.
public struct AuditEntry: Sendable, Equatable {
    public let seq: Int64
    public let timeNs: Int64
    /// `node`, or the base64url public key of the caller that caused it, or `anonymous`.
    public let actor: String
    public let app: String
    public let action: String
    /// `allowed`, `denied`, `ok`, `killed`, ...
    public let decision: String
    public let cause: String
    public let previousHash: [UInt8]
    public let hash: [UInt8]

    /// The chained hash of these fields: length-prefixed, so no two field splits hash alike.
    static func hash(seq: Int64, timeNs: Int64, actor: String, app: String, action: String, decision: String,
                     cause: String, previousHash: [UInt8]) -> [UInt8] {
        var bytes = Array("syneroym-audit-v1".utf8)
        func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        func field(_ s: String) {
            int(Int64(s.utf8.count))
            bytes.append(contentsOf: s.utf8)
        }
        int(seq); int(timeNs)
        field(actor); field(app); field(action); field(decision); field(cause)
        bytes.append(contentsOf: previousHash)
        return Hash.sha256(bytes)
    }

    /// What a checkpoint signature covers.
    static func checkpointMessage(seq: Int64, hash: [UInt8]) -> [UInt8] {
        var bytes = Array("syneroym-audit-checkpoint-v1".utf8)
        withUnsafeBytes(of: seq.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + hash
    }
}
