import ArgumentParser

/// `syneroym apps disable APP`: POST /v1/admin/apps/APP/disable, audited with your key.
struct AppsDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Disable an app: stop it now and keep it disabled in node.toml (owner).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The app id.") var app: String

    func run() async throws {
        let object = try await AdminRequest.send(client, "POST", "/v1/admin/apps/\(Call.escape(app))/disable")
        print("\(object["app"] ?? app): \(object["state"] ?? "?")")
    }
}
