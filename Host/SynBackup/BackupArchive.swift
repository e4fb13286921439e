/// The layout of a backup archive (`.synbak`), version 2 (version 1, without records entries, is read too):
///
/// ```
/// "SYNBAK1\n"                    8 bytes
/// u32 little-endian              the header's length (at most `maxHeaderBytes`)
/// header                         JSON, in clear: format, how the key is made (`key`: a key file; `argon2id`: a
///                                passphrase, with its salt and costs), the key's fingerprint, when and on which node
/// stream header                  24 bytes of libsodium secretstream (XChaCha20-Poly1305)
/// records                        each: u32 little-endian ciphertext length, then the ciphertext of one record
/// ```
///
/// Records, once decrypted, start with a type byte: `begin` (JSON: node, snapshot time; the clear header is its
/// additional data, so the two cannot be swapped), then per file a `file` record (JSON: path, size) and its
/// `data` records (at most `chunkBytes` each), and last the `manifest` (JSON: every file's path, size and BLAKE2b-256),
/// the stream's final message. A wrong key fails on the first record; any altered, dropped, reordered or added
/// byte fails where it is; a truncated archive has no final message.
///
/// A *records* entry (`ArchivedFile.Kind.records`: an app's database as its worker copied it while it served) is
/// written as it arrives, so its size is not known at its `file` record: its `data` is a stream of `BackupStream`
/// records (offset and bytes, or a truncation), replayed into the file when the archive is read (`BackupReplay`,
/// within the `limit` its `file` record gives), and a `close` record ends it (one byte: 1, or 0 when the copy failed and the entry is to be dropped). The
/// manifest gives its stream's size and hash.
public enum BackupArchive {
    public static let magic: [UInt8] = Array("SYNBAK1\n".utf8)
    public static let version = 2
    /// The versions this reader reads.
    public static let readable = 1...2
    public static let maxHeaderBytes = 64 * 1024
    /// Plaintext bytes per data record.
    public static let chunkBytes = 1 << 20
    /// The largest record accepted (a chunk, or a manifest of many files).
    public static let maxRecordBytes = 16 << 20
    /// The largest file a records entry may make (its `limit`).
    public static let maxRecordsLimit: Int64 = 1 << 44
    /// The largest archived path.
    public static let maxPathBytes = 1024

    /// Record types.
    enum Record: UInt8 {
        case begin = 1, file = 2, data = 3, manifest = 4, close = 5
    }

    /// The file name of an archive made at `stamp` (compact ISO 8601, UTC).
    public static func fileName(stamp: String) -> String { "syneroym-\(stamp).synbak" }
}

/// One archived file as the manifest lists it.
public struct ArchivedFile: Codable, Sendable, Equatable {
    /// How an entry's bytes make its file.
    public enum Kind: String, Codable, Sendable {
        /// `BackupStream` records, replayed into the file.
        case records
    }

    /// Relative to the data directory, e.g. `apps/homeservices/app.db`.
    public var path: String
    /// Its bytes in the archive (a records entry's: the stream's).
    public var size: Int64
    /// BLAKE2b-256 of its bytes in the archive, lowercase hex.
    public var blake2b: String
    /// Nil for a file's bytes as they are.
    public var kind: Kind?
    /// A records entry's largest file: its records reach no further (the node checked them against it).
    public var limit: Int64?

    public init(path: String, size: Int64, blake2b: String, kind: Kind? = nil, limit: Int64? = nil) {
        self.path = path
        self.size = size
        self.blake2b = blake2b
        self.kind = kind
        self.limit = limit
    }
}

/// What the archive says about itself, inside the encryption.
public struct ArchiveInfo: Codable, Sendable, Equatable {
    /// The node's id (its public key, base64url).
    public var node: String
    /// When the backup began (ISO 8601, UTC): every write acknowledged before this is in it.
    public var snapshot: String
    /// What made it.
    public var writer: String

    public init(node: String, snapshot: String, writer: String) {
        self.node = node
        self.snapshot = snapshot
        self.writer = writer
    }
}
