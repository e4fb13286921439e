import ArgumentParser
import Foundation

/// `syneroym apps status [APP]`: states, profiles and problems, as the node owner sees them.
struct AppsStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show apps' states, profiles and problems (owner).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "One app (default: all).") var app: String?

    func run() async throws {
        let object = try await AdminRequest.send(client, "GET", "/v1/admin/apps")
        let apps = (object["apps"] as? [[String: Any]] ?? []).filter { app == nil || $0["id"] as? String == app }
        if let app, apps.isEmpty {
            FileHandle.standardError.write(Data("error: no app '\(app)' on this node\n".utf8))
            throw ExitCode(2)
        }
        for a in apps {
            print(AppsTable.row([a["id"], a["version"], a["state"], "profile=\(a["profile"] ?? "-")", a["problem"] ?? ""]))
        }
    }
}
