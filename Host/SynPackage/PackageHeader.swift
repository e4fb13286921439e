public import Foundation

/// The signed part of a `.synapp` package: what it is, every file's size and SHA-256, who signed it, and how it was
/// made (provenance and a bill of materials). Encoded as JSON with sorted keys; the signature covers the exact bytes.
public struct PackageHeader: Codable, Sendable, Equatable {
    /// One file carried by the package, in the order its bytes follow the signature.
    public struct File: Codable, Sendable, Equatable {
        /// A plain file name: `manifest.toml`, or the manifest's `[app] library`.
        public var name: String
        public var size: Int
        /// Lowercase hex.
        public var sha256: String

        public init(name: String, size: Int, sha256: String) {
            self.name = name
            self.size = size
            self.sha256 = sha256
        }
    }

    /// How and from what the package was made.
    public struct Provenance: Codable, Sendable, Equatable {
        /// When it was packed, ISO 8601 in UTC.
        public var created: String
        /// The source revision it was built from (`git rev-parse HEAD` beside the manifest, or `--revision`), or "unknown".
        public var sourceRevision: String
        /// The compilers named in the library's ELF `.comment` section.
        public var toolchain: [String]
        /// What packed it, e.g. `syneroym pack`.
        public var packer: String

        enum CodingKeys: String, CodingKey {
            case created, toolchain, packer
            case sourceRevision = "source_revision"
        }

        public init(created: String, sourceRevision: String, toolchain: [String], packer: String) {
            self.created = created
            self.sourceRevision = sourceRevision
            self.toolchain = toolchain
            self.packer = packer
        }
    }

    /// The bill of materials: the shared libraries the app's library links (`DT_NEEDED`), which the node provides.
    public struct BillOfMaterials: Codable, Sendable, Equatable {
        public var needed: [String]

        public init(needed: [String]) { self.needed = needed }
    }

    /// `PackageFormat.version`.
    public var format: Int
    public var app: String
    public var version: String
    /// The PluginABI major the manifest declares.
    public var abi: Int
    /// The developer's ed25519 public key, base64url (43 characters): the key that signed the package.
    public var developer: String
    public var files: [File]
    public var provenance: Provenance
    public var sbom: BillOfMaterials

    public init(format: Int = PackageFormat.version, app: String, version: String, abi: Int, developer: String,
                files: [File], provenance: Provenance, sbom: BillOfMaterials) {
        self.format = format
        self.app = app
        self.version = version
        self.abi = abi
        self.developer = developer
        self.files = files
        self.provenance = provenance
        self.sbom = sbom
    }

    /// The bytes that are signed and stored.
    public func encoded() throws(PackageError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(self)) } catch {
            throw PackageError(.format, "cannot encode the package header: \(error)")
        }
    }

    /// Decodes header bytes already checked against their signature.
    public static func decode(_ bytes: [UInt8]) throws(PackageError) -> PackageHeader {
        do { return try JSONDecoder().decode(PackageHeader.self, from: Data(bytes)) } catch {
            throw PackageError(.format, "the package header is not the JSON this node reads: \(error)")
        }
    }
}
