import SynSodium
#if canImport(Glibc)
import Glibc
#endif

/// A signed statement by the node that its audit log reached entry `seq` with hash `hash` at `timeNs`.
///
/// The node keeps its latest head in `<data>/audit.head`, outside `node.db`, and `syneroym audit head` prints it.
/// Anyone who keeps a copy (the owner, a backup, later a peer node acting as a witness) can check with
/// `audit verify --head H` that the log still holds that entry unchanged, which no later truncation or rewrite of
/// the log can hide. Text form: `<seq>.<time_ns>.<hash base64url>.<signature base64url>`.
public struct AuditHead: Sendable, Equatable {
    public let seq: Int64
    public let timeNs: Int64
    public let hash: [UInt8]
    public let signature: [UInt8]

    public init(seq: Int64, timeNs: Int64, hash: [UInt8], signature: [UInt8]) {
        self.seq = seq
        self.timeNs = timeNs
        self.hash = hash
        self.signature = signature
    }

    /// Signs entry `seq`'s `hash` with `sign` (the node key, node domain).
    init(seq: Int64, timeNs: Int64, hash: [UInt8], sign: ([UInt8]) -> [UInt8]) {
        self.init(seq: seq, timeNs: timeNs, hash: hash, signature: sign(Self.message(seq: seq, timeNs: timeNs, hash: hash)))
    }

    /// What the signature covers (domain-separated from checkpoints and from everything else the key signs).
    static func message(seq: Int64, timeNs: Int64, hash: [UInt8]) -> [UInt8] {
        var bytes = Array("syneroym-audit-head-v1".utf8)
        withUnsafeBytes(of: seq.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: timeNs.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + hash
    }

    /// Whether `nodePublicKey` signed this head.
    public func isSigned(by nodePublicKey: [UInt8]) -> Bool {
        hash.count == 32 && Ed25519.verify(publicKey: nodePublicKey, domain: .node,
                                           message: Self.message(seq: seq, timeNs: timeNs, hash: hash), signature: signature)
    }

    public var text: String { "\(seq).\(timeNs).\(Base64URL.encode(hash)).\(Base64URL.encode(signature))" }

    /// Parses the text form; nil when it is not one.
    public init?(text: String) {
        let trimmed = text.utf8.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        let core = String(decoding: trimmed.reversed().drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }.reversed(), as: UTF8.self)
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, let seq = Int64(parts[0]), seq >= 0, let time = Int64(parts[1]),
              let hash = Base64URL.decode(String(parts[2])), hash.count == 32,
              let signature = Base64URL.decode(String(parts[3])), signature.count == 64 else { return nil }
        self.init(seq: seq, timeNs: time, hash: hash, signature: signature)
    }

    /// The head stored at `path`, nil when there is none; throws when the file exists but is not a head.
    public static func load(path: String) throws(BrokerError) -> AuditHead? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw BrokerError(.storage, "cannot read the audit head \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 512)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0, let head = AuditHead(text: String(decoding: bytes.prefix(n), as: UTF8.self)) else {
            throw BrokerError(.storage, "the audit head \(path) is not a signed head")
        }
        return head
    }

    /// Writes the head to `path` durably: a temporary file, fsync, rename, fsync of the directory.
    func store(path: String) throws(BrokerError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw BrokerError(.storage, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array((text + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        let savedErrno = errno
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            let reason = written < 0 || !synced ? savedErrno : errno
            unlink(temporary)
            throw BrokerError(.storage, "cannot write \(path): \(String(cString: strerror(reason)))")
        }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}
