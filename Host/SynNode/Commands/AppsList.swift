import ArgumentParser
import Foundation

/// `syneroym apps list`: the node's apps, their states and public methods (`GET /v1/apps`, unsigned).
struct AppsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the node's apps, states and public methods.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let object = try await AdminRequest.send(client, "GET", "/v1/apps", signed: false)
        for app in object["apps"] as? [[String: Any]] ?? [] {
            let methods = (app["public_methods"] as? [String] ?? []).joined(separator: ",")
            print(AppsTable.row([app["id"], app["version"], app["state"], methods.isEmpty ? "-" : methods]))
        }
    }
}

/// Fixed-width rows for the apps commands.
enum AppsTable {
    static func row(_ cells: [Any?]) -> String {
        cells.enumerated().map { index, cell in
            let text = cell.map { "\($0)" } ?? "-"
            return index == cells.count - 1 ? text : text.padding(toLength: max(14, text.count + 2), withPad: " ", startingAt: 0)
        }.joined()
    }
}
