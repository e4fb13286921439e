import Foundation
import SynConfig
import SynPackage
import SynSodium
import SynTestSupport
import Testing

/// `.synapp` files as hostile input: every altered, truncated or oversized part is refused with the reason, and
/// nothing is read past a check that fails.
@Suite struct PackageReaderTests {
    /// A fresh packed hello and the key that signed it.
    static func packed() throws -> (path: String, key: SigningKey, dir: String) {
        let dir = TestSupport.scratch + "/package-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lib = try TestSupport.buildC("Plugins/Examples/hello-c/hello.c", name: "hello-package")
        try FileManager.default.copyItem(atPath: lib, toPath: dir + "/libhello.so")
        try FileManager.default.copyItem(atPath: TestSupport.root + "/manifests/hello.toml", toPath: dir + "/hello.toml")
        let key = try SigningKey.generate()
        let package = try PackageWriter.pack(manifestPath: dir + "/hello.toml", searchDirectories: [], key: key,
                                             sourceRevision: "abc123", packer: "test", output: dir + "/hello.synapp")
        #expect(package.manifest.id == "hello" && package.header.provenance.sourceRevision == "abc123")
        return (dir + "/hello.synapp", key, dir)
    }

    static func refusal(_ bytes: [UInt8], in dir: String, maxBytes: Int = 1 << 30) throws -> PackageError? {
        let path = dir + "/case-\(UInt32.random(in: 0...UInt32.max)).synapp"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do { _ = try PackageReader.verify(path: path, maxBytes: maxBytes) } catch { return error }
        return nil
    }

    @Test func aPackedPackageVerifiesAndCarriesItsProvenance() throws {
        let (path, key, dir) = try Self.packed()
        let package = try PackageReader.verify(path: path, libraryTo: dir + "/extracted.so")
        #expect(package.developerKey == key.publicKey && package.developer == Base64URL.encode(key.publicKey))
        #expect(package.header.files.map(\.name) == ["manifest.toml", "libhello.so"])
        #expect(package.manifest.sha256 == package.library.sha256)
        #expect(try FileDigest.sha256Hex(path: dir + "/extracted.so") == package.library.sha256)
        #expect(try FileDigest.sha256Hex(path: path) == package.digest)
        #expect(package.header.sbom.needed.contains("libc.so.6"))
        #expect(package.header.provenance.toolchain.contains { $0.hasPrefix("GCC") })
    }

    @Test func everyAlterationIsRefusedWithItsReason() throws {
        let (path, key, dir) = try Self.packed()
        let good = try PackageParts(path)
        let other = try SigningKey.generate()
        var cases: [(String, [UInt8], PackageError.Code, String)] = []
        cases.append(("not a package", Array("#!/bin/sh\necho hi\n".utf8) + [UInt8](repeating: 0, count: 64), .format, "not a SynApp package"))
        cases.append(("a later format", Array("SYNAPP9\n".utf8) + good.bytes().dropFirst(8), .format, "format this node does not read"))
        cases.append(("empty", [], .format, "too short"))
        cases.append(("huge header length", good.bytes(length: 0x7fff_ffff), .format, "a package header is 1 to"))
        cases.append(("header longer than the file", good.bytes(length: UInt32(good.header.count + good.body.count + 100)), .format, "truncated"))
        var flippedHeader = good
        flippedHeader.header[flippedHeader.header.count / 2] ^= 0x20
        cases.append(("header byte", flippedHeader.bytes(), .signature, "the signature does not verify"))
        var otherSigner = good
        otherSigner.signature = other.sign(domain: .package, good.header)
        cases.append(("another key's signature", otherSigner.bytes(), .signature, "the signature does not verify"))
        var wrongDomain = good
        wrongDomain.signature = key.sign(domain: .node, good.header)
        cases.append(("a node-domain signature", wrongDomain.bytes(), .signature, "the signature does not verify"))
        var flippedLibrary = good
        flippedLibrary.body[flippedLibrary.body.count - 1] ^= 1
        cases.append(("library byte", flippedLibrary.bytes(), .hash, "libhello.so does not match its sha256"))
        var flippedManifest = good
        flippedManifest.body[3] ^= 1
        cases.append(("manifest byte", flippedManifest.bytes(), .hash, "manifest.toml does not match its sha256"))
        var trailing = good
        trailing.body += [0]
        cases.append(("a trailing byte", trailing.bytes(), .format, "follow the signature"))
        var truncated = good
        truncated.body.removeLast()
        cases.append(("a missing byte", truncated.bytes(), .format, "follow the signature"))
        var abi = good
        try abi.resign(key) { $0["abi"] = 2 }
        cases.append(("ABI major 2", abi.bytes(), .abi, "PluginABI major 2"))
        var renamed = good
        try renamed.resign(key) { $0["app"] = "other" }
        cases.append(("another app id", renamed.bytes(), .manifest, "the manifest's [app] id is 'hello' but the signed header says 'other'"))
        var reversioned = good
        try reversioned.resign(key) { $0["version"] = "9.9.9" }
        cases.append(("another version", reversioned.bytes(), .manifest, "the signed header says '9.9.9'"))
        var claimsOther = good
        try claimsOther.resign(key) { $0["developer"] = Base64URL.encode(other.publicKey) }
        cases.append(("a header naming another developer", claimsOther.bytes(), .format, "but the package was signed by"))
        var escaping = good
        try escaping.resign(key) { object in
            var files = object["files"] as? [[String: Any]] ?? []
            files[1]["name"] = "../../etc/libhello.so"
            object["files"] = files
        }
        cases.append(("a path in a file name", escaping.bytes(), .format, "is not a plain file name"))
        var threeFiles = good
        try threeFiles.resign(key) { object in
            var files = object["files"] as? [[String: Any]] ?? []
            files.append(["name": "extra", "size": 0, "sha256": String(repeating: "0", count: 64)])
            object["files"] = files
        }
        cases.append(("a third file", threeFiles.bytes(), .format, "lists 3 file(s)"))
        var negative = good
        try negative.resign(key) { object in
            var files = object["files"] as? [[String: Any]] ?? []
            files[1]["size"] = -5
            object["files"] = files
        }
        cases.append(("a negative size", negative.bytes(), .format, "negative size"))
        var notJSON = good
        notJSON.header = Array("not json at all".utf8)
        notJSON.signature = key.sign(domain: .package, notJSON.header)
        cases.append(("a header that is not JSON", notJSON.bytes(), .format, "not the JSON this node reads"))
        for (name, bytes, code, reason) in cases {
            let error = try Self.refusal(bytes, in: dir)
            #expect(error?.code == code, "\(name): \(String(describing: error))")
            #expect(error?.message.contains(reason) == true, "\(name): \(String(describing: error))")
        }
        // A node's own size limit is checked before anything is read.
        let small = try Self.refusal(good.bytes(), in: dir, maxBytes: 1000)
        #expect(small?.code == .tooLarge && small?.message.contains("[packages] max_package_mb") == true)
    }

    @Test func aFailedCheckLeavesNoExtractedLibrary() throws {
        let (path, _, dir) = try Self.packed()
        var parts = try PackageParts(path)
        parts.body[parts.body.count - 1] ^= 1
        try Data(parts.bytes()).write(to: URL(fileURLWithPath: dir + "/bad.synapp"))
        #expect(throws: PackageError.self) { try PackageReader.verify(path: dir + "/bad.synapp", libraryTo: dir + "/out.so") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.so"))
    }
}
