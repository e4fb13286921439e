import ArgumentParser
import Foundation
import SynConfig
import SynPackage
import SynSodium

/// `syneroym pack --manifest M --key DEVKEY`: a signed `.synapp` package of an app (docs/abi.md "Packing and signing").
struct Pack: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pack an app into a signed .synapp package: its manifest, its library, their hashes, provenance and an SBOM.",
        discussion: "The library is found as the node finds it: beside the manifest, then beside this syneroym binary. The key is one from `syneroym keys list`; the first node to install the package pins it for the app id.")
    @Option(help: "The app's manifest (TOML).") var manifest: String
    @Option(help: "The developer's signing key, by name from `syneroym keys list`.") var key: String
    @Option(help: "The package to write (default: <id>-<version>.synapp in the current directory).") var output: String?
    @Option(help: "The source revision to record (default: `git rev-parse HEAD` beside the manifest, else \"unknown\").") var revision: String?

    func execute() throws(CLIError) {
        let signing = try Keyring().load(key)
        let manifestPath = URL(fileURLWithPath: manifest).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: manifestPath) else { throw CLIError("error: no manifest at \(manifestPath)") }
        let source = revision ?? Self.gitRevision(near: manifestPath) ?? "unknown"
        let target: String
        if let output { target = output } else {
            let parsed: AppManifest
            do { parsed = try AppManifest.load(path: manifestPath) } catch { throw CLIError("error: \(error)", code: 1) }
            target = "\(parsed.id)-\(parsed.version).synapp"
        }
        let package: VerifiedPackage
        do {
            package = try PackageWriter.pack(manifestPath: manifestPath, searchDirectories: [NodePaths.products], key: signing,
                                             sourceRevision: source, packer: "syneroym pack", output: target)
        } catch { throw CLIError("error: \(error.message)", code: 1) }
        print("packed \(package.manifest.id) \(package.manifest.version) into \(target) (\(package.size) bytes, sha256 \(package.digest))")
        print("signed by \(package.developer) (key '\(key)')")
    }

    /// `git rev-parse HEAD` in the manifest's directory, if it is in a work tree.
    static func gitRevision(near path: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["-C", (path as NSString).deletingLastPathComponent, "rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.count == 40 ? text : nil
    }
}
