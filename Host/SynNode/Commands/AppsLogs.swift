import ArgumentParser
import Foundation

/// `syneroym apps logs APP`: the app's most recent log lines, kept by the running node (owner).
struct AppsLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Show an app's recent log lines (owner).")
    @OptionGroup var client: ClientOptions
    @Option(help: "How many lines (1–1000).") var lines: Int = 100
    @Argument(help: "The app id.") var app: String

    func run() async throws {
        let object = try await AdminRequest.send(client, "GET", "/v1/admin/apps/\(Call.escape(app))/logs?lines=\(lines)")
        for line in object["lines"] as? [[String: Any]] ?? [] {
            let time = (line["ts"] as? Double).map { Date(timeIntervalSince1970: $0) }.map { "\($0)" } ?? "-"
            let request = (line["request_id"] as? String).flatMap { $0.isEmpty ? nil : " [\($0)]" } ?? ""
            print("\(time) \(line["level"] ?? "?")\(request) \(line["message"] ?? "")")
        }
    }
}
