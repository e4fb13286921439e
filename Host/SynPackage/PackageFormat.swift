/// The layout of a `.synapp` file, version 1:
///
/// ```
/// "SYNAPP1\n"                      8 bytes, the magic and format version
/// developer key                    32 bytes: the ed25519 public key that signed it
/// u32 little-endian                the header's length (at most `maxHeaderBytes`)
/// header                           JSON (`PackageHeader`), UTF-8
/// signature                        64 bytes: ed25519 by the developer over SignatureDomain.package + header
/// file bytes                       each file of `header.files`, in order, with nothing between or after
/// ```
///
/// The signature covers the header, and the header covers each file by size and SHA-256, so one signature check and
/// one pass over the bytes prove the whole file. Nothing of the package is interpreted before its signature verifies.
public enum PackageFormat {
    public static let magic: [UInt8] = Array("SYNAPP1\n".utf8)
    public static let version = 1
    /// The header is small: names, hashes, provenance.
    public static let maxHeaderBytes = 256 * 1024
    /// A manifest is a short TOML file.
    public static let maxManifestBytes = 256 * 1024
    /// The largest library the format carries; a node's own limit is `[packages] max_package_mb`.
    public static let maxLibraryBytes = 1 << 30
    /// The manifest's name inside a package.
    public static let manifestName = "manifest.toml"
    /// Where the signature starts for a header of `headerLength` bytes.
    static func signatureOffset(headerLength: Int) -> Int { magic.count + 4 + headerLength }
}
