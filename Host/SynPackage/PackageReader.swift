import Foundation
import SynConfig
import SynSodium
#if canImport(Glibc)
import Glibc
#endif

/// Reads and checks a `.synapp` package (see `PackageFormat`), treating every byte as hostile: sizes are bounded
/// before anything is allocated, the signature is checked before the header is parsed, and each file is hashed as
/// it streams past. Nothing in the package runs here.
public enum PackageReader {
    /// Checks the package at `path` completely: the format, the developer's signature, the header, the manifest
    /// (its id, version and ABI major against the header, the library it names) and every file's SHA-256.
    ///
    /// - Parameters:
    ///   - maxBytes: the largest package accepted (a node's `[packages] max_package_mb`).
    ///   - libraryTo: when set, the library is written there (a new file, mode 0400) as it is hashed, so the bytes
    ///     placed are the bytes checked; the file is removed when any check fails.
    public static func verify(path: String, maxBytes: Int = PackageFormat.maxLibraryBytes + PackageFormat.maxManifestBytes,
                              libraryTo: String? = nil) throws(PackageError) -> VerifiedPackage {
        let file = try PackageFile(reading: path)
        let size = try file.size()
        guard size <= maxBytes else {
            throw PackageError(.tooLarge, "\(path) is \(size) bytes; this node takes packages up to \(maxBytes) bytes (node.toml [packages] max_package_mb)")
        }
        var whole = SHA256Stream()
        let preambleLength = PackageFormat.magic.count + Ed25519.publicKeyLength + 4
        guard size >= preambleLength else { throw PackageError(.format, "\(path) is not a SynApp package (\(size) bytes; too short)") }
        let preamble = try file.read(preambleLength)
        whole.update(preamble)
        guard Array(preamble.prefix(PackageFormat.magic.count)) == PackageFormat.magic else {
            if preamble.starts(with: Array("SYNAPP".utf8)) {
                throw PackageError(.format, "\(path) is a SynApp package of a format this node does not read; upgrade the node")
            }
            throw PackageError(.format, "\(path) is not a SynApp package (it does not start with \"SYNAPP1\"); make one with `syneroym pack`")
        }
        let developerKey = Array(preamble[PackageFormat.magic.count..<(PackageFormat.magic.count + Ed25519.publicKeyLength)])
        let lengthBytes = preamble.suffix(4)
        let headerLength = lengthBytes.reversed().reduce(0) { $0 << 8 | Int($1) }
        guard headerLength > 0, headerLength <= PackageFormat.maxHeaderBytes else {
            throw PackageError(.format, "\(path): the header is \(headerLength) bytes; a package header is 1 to \(PackageFormat.maxHeaderBytes)")
        }
        guard preambleLength + headerLength + Ed25519.signatureLength <= size else {
            throw PackageError(.format, "\(path) ends inside its header or signature: the package is truncated")
        }
        let headerBytes = try file.read(headerLength)
        let signature = try file.read(Ed25519.signatureLength)
        whole.update(headerBytes)
        whole.update(signature)
        do { try Sodium.initialize() } catch { throw PackageError(.io, error.message) }
        guard Ed25519.verify(publicKey: developerKey, domain: .package, message: headerBytes, signature: signature) else {
            throw PackageError(.signature, "\(path): the signature does not verify with the developer key it names (\(Base64URL.encode(developerKey))); the package was altered or not signed by that key")
        }
        // Signed: now the header may be read.
        let header = try PackageHeader.decode(headerBytes)
        try check(header, developerKey: developerKey, path: path, bodyBytes: size - preambleLength - headerLength - Ed25519.signatureLength)

        // The manifest comes first and is small.
        let manifestEntry = header.files[0]
        let manifestBytes = try file.read(manifestEntry.size)
        whole.update(manifestBytes)
        guard Hex.encode(Hash.sha256(manifestBytes)) == manifestEntry.sha256 else {
            throw PackageError(.hash, "\(path): manifest.toml does not match its sha256 in the signed header; the package was altered")
        }
        guard let manifestText = String(validating: manifestBytes, as: UTF8.self) else {
            throw PackageError(.manifest, "\(path): manifest.toml is not UTF-8")
        }
        var manifest: AppManifest
        do { manifest = try AppManifest.parse(manifestText, file: "\(path):manifest.toml") } catch {
            throw PackageError(.manifest, "\(error)")
        }
        let library = header.files[1]
        try check(manifest, against: header, library: library, path: path)
        manifest.sha256 = library.sha256

        // The library streams past, hashed, and written out if asked.
        let output: PackageFile? = try libraryTo.map { (target) throws(PackageError) in try PackageFile(creating: target, mode: 0o400) }
        var placed = false
        defer { if let libraryTo, !placed { unlink(libraryTo) } }
        var hash = SHA256Stream()
        var left = library.size
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while left > 0 {
            let n = try file.readSome(into: &buffer, limit: left)
            guard n > 0 else { throw PackageError(.format, "\(path) ends inside \(library.name): the package is truncated") }
            buffer.withUnsafeBytes { raw in
                let piece = UnsafeRawBufferPointer(rebasing: raw.prefix(n))
                hash.update(piece)
                whole.update(piece)
            }
            try output?.write(buffer, count: n)
            left -= n
        }
        guard Hex.encode(hash.finish()) == library.sha256 else {
            throw PackageError(.hash, "\(path): \(library.name) does not match its sha256 in the signed header; the package was altered")
        }
        var probe: [UInt8] = [0]
        guard try file.readSome(into: &probe, limit: 1) == 0 else {
            throw PackageError(.format, "\(path) has bytes after its last file; the package was altered")
        }
        try output?.sync()
        placed = true
        return VerifiedPackage(path: path, header: header, developerKey: developerKey, manifest: manifest,
                               manifestText: manifestText, library: library, digest: Hex.encode(whole.finish()), size: size)
    }

    /// The signed header's own rules: format, the key it names, two files (the manifest, then the library) with
    /// plain names and sizes that add up to the rest of the file.
    static func check(_ header: PackageHeader, developerKey: [UInt8], path: String, bodyBytes: Int) throws(PackageError) {
        guard header.format == PackageFormat.version else {
            throw PackageError(.format, "\(path) is package format \(header.format); this node reads format \(PackageFormat.version)")
        }
        guard header.abi == AppManifest.supportedABI else {
            throw PackageError(.abi, "\(path): '\(header.app.prefix(64))' \(header.version.prefix(64)) is built for PluginABI major \(header.abi); this node runs major \(AppManifest.supportedABI)")
        }
        guard header.developer == Base64URL.encode(developerKey) else {
            throw PackageError(.format, "\(path): the header names developer \(header.developer.prefix(64)), but the package was signed by \(Base64URL.encode(developerKey))")
        }
        guard header.files.count == 2, header.files[0].name == PackageFormat.manifestName else {
            throw PackageError(.format, "\(path): a package carries manifest.toml and then the app's library; this one lists \(header.files.count) file(s)")
        }
        for entry in header.files {
            if let problem = nameProblem(entry.name) { throw PackageError(.format, "\(path): file name \(problem)") }
            guard entry.size >= 0, NameRules.isSHA256Hex(entry.sha256) else {
                throw PackageError(.format, "\(path): \(entry.name) has a negative size or a sha256 that is not 64 lowercase hex digits")
            }
        }
        // Each size within its limit before they are added up.
        guard header.files[0].size <= PackageFormat.maxManifestBytes else {
            throw PackageError(.tooLarge, "\(path): manifest.toml is \(header.files[0].size) bytes; at most \(PackageFormat.maxManifestBytes)")
        }
        guard header.files[1].size <= PackageFormat.maxLibraryBytes else {
            throw PackageError(.tooLarge, "\(path): the library is \(header.files[1].size) bytes; at most \(PackageFormat.maxLibraryBytes)")
        }
        let total = header.files[0].size + header.files[1].size
        guard total == bodyBytes else {
            throw PackageError(.format, "\(path): the header lists \(total) bytes of files but \(bodyBytes) follow the signature; the package is truncated or altered")
        }
    }

    /// The manifest inside must be the one the header describes, for this host's ABI.
    static func check(_ manifest: AppManifest, against header: PackageHeader, library: PackageHeader.File, path: String) throws(PackageError) {
        guard manifest.id == header.app else {
            throw PackageError(.manifest, "\(path): the manifest's [app] id is '\(manifest.id)' but the signed header says '\(header.app)'")
        }
        guard manifest.version == header.version else {
            throw PackageError(.manifest, "\(path): the manifest's [app] version is '\(manifest.version)' but the signed header says '\(header.version)'")
        }
        guard manifest.abi == header.abi else {
            throw PackageError(.manifest, "\(path): the manifest's [app] abi is \(manifest.abi) but the signed header says \(header.abi)")
        }
        guard manifest.abi == AppManifest.supportedABI else {
            throw PackageError(.abi, "\(path): '\(manifest.id)' \(manifest.version) is built for PluginABI major \(manifest.abi); this node runs major \(AppManifest.supportedABI)")
        }
        guard manifest.library == library.name else {
            throw PackageError(.manifest, "\(path): the manifest's [app] library is '\(manifest.library)' but the package carries '\(library.name)'")
        }
        if let pinned = manifest.sha256, pinned != library.sha256 {
            throw PackageError(.manifest, "\(path): the manifest's [app] sha256 is \(pinned) but the library's is \(library.sha256)")
        }
    }

    /// Nil for a plain file name (1–255 bytes, no `/`, no control characters, not `.` or `..`), else what is wrong.
    static func nameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty || bytes.count > 255 { return "'\(name.prefix(64))' must be 1 to 255 bytes" }
        if name == "." || name == ".." || bytes.contains(UInt8(ascii: "/")) || bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            return "'\(name.prefix(64))' is not a plain file name"
        }
        return nil
    }
}
