import ArgumentParser

/// `syneroym apps restart APP`: POST /v1/admin/apps/APP/restart, audited with your key.
struct AppsRestart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart an app's workers, clearing a failed state (owner).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The app id.") var app: String

    func run() async throws {
        let object = try await AdminRequest.send(client, "POST", "/v1/admin/apps/\(Call.escape(app))/restart")
        print("\(object["app"] ?? app): \(object["state"] ?? "?")")
    }
}
