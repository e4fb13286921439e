import ArgumentParser
import Foundation

/// `syneroym apps`: the node's apps.
struct Apps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, inspect and manage the node's apps.",
        subcommands: [AppsList.self, AppsStatus.self, AppsAdd.self, AppsEnable.self, AppsDisable.self, AppsRestart.self, AppsLogs.self,
                      AppsStats.self, AppsInstall.self, AppsRollback.self, AppsVersions.self, AppsExport.self, AppsImport.self, AppsMigrate.self])
}

/// Per-app footprints of the running (or last run) node, from `<data>/stats.json`.
struct AppsStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Calls, errors, wall and CPU time, storage, events, denials and deaths per app.",
        discussion: "5xx: calls that failed on the app's side (an error status, HTTP 500 or more, or the worker's death during the call). 4xx: answers from 400 to 499 (bad input, not found, ...). Denials: host calls the node refused.")
    @OptionGroup var options: DataOption
    @Flag(help: "Print the JSON document.") var json = false

    func run() throws {
        let path = options.data + "/stats.json"
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let apps = object["apps"] as? [String: [String: Any]] else {
            FileHandle.standardError.write(Data("error: no statistics at \(path): start the node with `syneroym run --data \(options.data)`\n".utf8))
            throw ExitCode(2)
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let updated = (object["updated_unix"] as? Int).map { Date(timeIntervalSince1970: TimeInterval($0)) }
        print("as of \(updated.map { "\($0)" } ?? "unknown")")
        let titles = ["calls", "4xx", "5xx", "wall_ms", "cpu_ms", "store_kb", "events", "denials"]
        print("app".padding(toLength: 16, withPad: " ", startingAt: 0)
              + titles.map { $0.padding(toLength: 9, withPad: " ", startingAt: 0) }.joined() + "deaths")
        for (app, f) in apps.sorted(by: { $0.key < $1.key }) {
            let deaths = (f["deaths"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let cols: [String] = [
                "\(f["calls"] ?? 0)", "\(f["client_errors"] ?? 0)", "\(f["errors"] ?? 0)", "\(f["wall_ms"] ?? 0)", "\(f["cpu_ms"] ?? 0)",
                "\(((f["storage_bytes"] as? Int) ?? 0) / 1024)", "\(f["events_emitted"] ?? 0)", "\(f["denials"] ?? 0)",
            ]
            print(app.padding(toLength: 16, withPad: " ", startingAt: 0)
                  + cols.map { $0.padding(toLength: 9, withPad: " ", startingAt: 0) }.joined()
                  + (deaths.isEmpty ? "-" : deaths.joined(separator: ",")))
        }
    }
}
