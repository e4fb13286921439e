import ArgumentParser
import Foundation
import SynConfig
import SynPackage

/// `syneroym verify PKG`: checks a package completely and prints what is in it. Runs nothing of the app.
struct Verify: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a .synapp package (signature, hashes, manifest, ABI) and print what it holds.",
        discussion: "Exit status 0 when it verifies, 1 when it does not. Nothing in the package runs.")
    @Argument(help: "The package.") var package: String

    func execute() throws(CLIError) {
        let verified: VerifiedPackage
        do { verified = try PackageReader.verify(path: package) } catch { throw CLIError("error: \(error.message)", code: 1) }
        let h = verified.header, m = verified.manifest
        // What a package says about itself is printed without control characters: it cannot drive the terminal.
        func clean(_ text: String) -> String {
            String(text.unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? "?" : Character($0) }.prefix(300))
        }
        print("ok: \(package) verifies (sha256 \(verified.digest), \(verified.size) bytes)")
        print("app:        \(h.app) \(clean(h.version)) (\(clean(m.name))), PluginABI \(h.abi)")
        print("developer:  \(h.developer)")
        print("profile:    \(m.profile)")
        for file in h.files { print("file:       \(clean(file.name))  \(file.size) bytes  sha256 \(file.sha256)") }
        print("created:    \(clean(h.provenance.created)) by \(clean(h.provenance.packer))")
        print("source:     \(clean(h.provenance.sourceRevision))")
        for tool in h.provenance.toolchain.prefix(16) { print("toolchain:  \(clean(tool))") }
        print("links:      \(h.sbom.needed.isEmpty ? "-" : clean(h.sbom.needed.prefix(64).joined(separator: " ")))")
        let requested = m.capabilities.lines
        print("requests:   \(requested.isEmpty ? "nothing" : requested.joined(separator: "; "))")
        if !m.publicMethods.isEmpty { print("public:     \(m.publicMethods.joined(separator: " "))") }
    }
}
