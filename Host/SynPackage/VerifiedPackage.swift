public import SynConfig

/// A package whose signature, header, manifest and file hashes all checked out.
public struct VerifiedPackage: Sendable {
    /// Where it was read from.
    public let path: String
    public let header: PackageHeader
    /// The developer's ed25519 public key (32 bytes), which signed it.
    public let developerKey: [UInt8]
    /// The manifest it carries, parsed; its `sha256` is the library's.
    public let manifest: AppManifest
    /// The manifest's text as signed.
    public let manifestText: String
    /// The library's entry in the header.
    public let library: PackageHeader.File
    /// SHA-256 of the whole package file, lowercase hex.
    public let digest: String
    /// The package file's size in bytes.
    public let size: Int

    /// The developer key as base64url, the form `apps install` and node.toml show.
    public var developer: String { header.developer }
}
