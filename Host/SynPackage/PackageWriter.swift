public import Foundation
public import SynConfig
public import SynSodium
import SynSandbox
#if canImport(Glibc)
import Glibc
#endif

/// Makes `.synapp` packages: the manifest and the library it names, their hashes, provenance and a bill of
/// materials, signed by the developer's key (see `PackageFormat`).
public enum PackageWriter {
    /// Packs the app whose manifest is at `manifestPath` into `output` (replaced atomically), signed by `key`.
    /// The library is found as the node finds it (beside the manifest, then `searchDirectories`). The package is
    /// read back and verified before this returns.
    public static func pack(manifestPath: String, searchDirectories: [String], key: SigningKey, sourceRevision: String,
                            packer: String, output: String, now: Date = Date()) throws(PackageError) -> VerifiedPackage {
        let manifest: AppManifest
        do { manifest = try AppManifest.load(path: manifestPath) } catch { throw PackageError(.manifest, "\(error)") }
        if let problem = PackageReader.nameProblem(manifest.library) {
            throw PackageError(.manifest, "\(manifestPath): [app] library must name a file beside the manifest or in the build products to be packed: \(problem)")
        }
        guard manifest.abi == AppManifest.supportedABI else {
            throw PackageError(.abi, "\(manifestPath): [app] abi is \(manifest.abi); this toolchain packs PluginABI major \(AppManifest.supportedABI)")
        }
        let libraryPath: String
        do { libraryPath = try manifest.resolveLibrary(searchDirectories: searchDirectories) } catch {
            throw PackageError(.manifest, "\(error)")
        }
        let manifestBytes: [UInt8]
        do { manifestBytes = Array(try Data(contentsOf: URL(fileURLWithPath: manifestPath))) } catch {
            throw PackageError(.io, "cannot read \(manifestPath): \(error.localizedDescription)")
        }
        guard manifestBytes.count <= PackageFormat.maxManifestBytes else {
            throw PackageError(.tooLarge, "\(manifestPath) is \(manifestBytes.count) bytes; a packed manifest is at most \(PackageFormat.maxManifestBytes)")
        }
        let library = try PackageFile(reading: libraryPath)
        let librarySize = try library.size()
        guard librarySize <= PackageFormat.maxLibraryBytes else {
            throw PackageError(.tooLarge, "\(libraryPath) is \(librarySize) bytes; a packed library is at most \(PackageFormat.maxLibraryBytes)")
        }
        let librarySHA: String
        do { librarySHA = try FileDigest.sha256Hex(path: libraryPath) } catch { throw PackageError(.io, error.message) }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let header = PackageHeader(
            app: manifest.id, version: manifest.version, abi: manifest.abi, developer: Base64URL.encode(key.publicKey),
            files: [
                .init(name: PackageFormat.manifestName, size: manifestBytes.count, sha256: Hex.encode(Hash.sha256(manifestBytes))),
                .init(name: manifest.library, size: librarySize, sha256: librarySHA),
            ],
            provenance: .init(created: formatter.string(from: now), sourceRevision: sourceRevision,
                              toolchain: ELFDependencies.comments(fd: library.fd), packer: packer),
            sbom: .init(needed: ELFDependencies.needed(fd: library.fd)))
        let headerBytes = try header.encoded()
        guard headerBytes.count <= PackageFormat.maxHeaderBytes else {
            throw PackageError(.tooLarge, "the package header would be \(headerBytes.count) bytes; at most \(PackageFormat.maxHeaderBytes)")
        }
        let signature = key.sign(domain: .package, headerBytes)

        let temporary = output + ".tmp-\(getpid())"
        unlink(temporary)
        do throws(PackageError) {
            let out = try PackageFile(creating: temporary, mode: 0o644)
            var length = UInt32(headerBytes.count).littleEndian
            try out.write(PackageFormat.magic + key.publicKey + withUnsafeBytes(of: &length) { Array($0) })
            try out.write(headerBytes)
            try out.write(signature)
            try out.write(manifestBytes)
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            var left = librarySize
            while left > 0 {
                let n = try library.readSome(into: &buffer, limit: left)
                guard n > 0 else { throw PackageError(.io, "\(libraryPath) shrank while it was packed; build it again and pack again") }
                try out.write(buffer, count: n)
                left -= n
            }
            try out.sync()
        } catch {
            unlink(temporary)
            throw error
        }
        // What was written must verify, or nothing is left behind (a library that changed while it was packed).
        let verified: VerifiedPackage
        do { verified = try PackageReader.verify(path: temporary) } catch {
            unlink(temporary)
            throw PackageError(error.code, "the package did not verify after packing (did \(libraryPath) change meanwhile?): \(error.message)")
        }
        guard rename(temporary, output) == 0 else {
            unlink(temporary)
            throw PackageError(.io, "cannot write \(output): errno \(errno)")
        }
        return VerifiedPackage(path: output, header: verified.header, developerKey: verified.developerKey, manifest: verified.manifest,
                               manifestText: verified.manifestText, library: verified.library, digest: verified.digest, size: verified.size)
    }
}
