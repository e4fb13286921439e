import ArgumentParser

/// `syneroym apps enable APP`: POST /v1/admin/apps/APP/enable, audited with your key.
struct AppsEnable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable an app: start it now and keep it enabled in node.toml (owner).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The app id.") var app: String

    func run() async throws {
        let object = try await AdminRequest.send(client, "POST", "/v1/admin/apps/\(Call.escape(app))/enable")
        print("\(object["app"] ?? app): \(object["state"] ?? "?")")
    }
}
