import ArgumentParser
import Foundation

/// `syneroym apps add MANIFEST`: POST /v1/admin/apps, audited with your key. The running node copies the manifest
/// (and the library beside it) into its manifests directory, writes the app's node.toml section granting what the
/// manifest requests, and starts it; this prints that section.
struct AppsAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add an app to a running node from its manifest, granting what it requests (owner).",
        discussion: "The manifest is read by the node, so it must be on the node's machine. Remove a grant from the section printed (in <data>/node.toml), then `syneroym apps restart APP`, to deny it.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The app's manifest (TOML), with its library beside it.") var manifest: String

    func run() async throws {
        let path = URL(fileURLWithPath: manifest).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path) else {
            FileHandle.standardError.write(Data("error: no manifest at \(path)\n".utf8))
            throw ExitCode(2)
        }
        let body = (try? JSONSerialization.data(withJSONObject: ["manifest": path])).map { Array($0) } ?? []
        let object = try await AdminRequest.send(client, "POST", "/v1/admin/apps", body: body)
        print("\(object["app"] ?? "?"): \(object["state"] ?? "?") (profile \(object["profile"] ?? "?"))")
        print("node.toml now grants it:")
        print(object["node_toml"] as? String ?? "")
    }
}
