import Foundation
public import SynSandbox

/// `<data>/stats.json`: the running node's per-app footprints, rewritten every few seconds and at shutdown,
/// read by `syneroym apps stats`.
public enum StatsFile {
    public static func path(_ directory: String) -> String { directory + "/stats.json" }

    public static func write(_ footprints: [(String, AppFootprint)], toDirectory directory: String) {
        var apps: [String: Any] = [:]
        for (app, f) in footprints {
            apps[app] = [
                "calls": f.calls, "errors": f.errors, "client_errors": f.clientErrors, "wall_ms": (f.wallMs * 10).rounded() / 10,
                "cpu_ms": (f.cpuMs * 10).rounded() / 10, "storage_bytes": f.storageBytes,
                "events_emitted": f.eventsEmitted, "denials": f.denials, "deaths": f.deaths,
            ] as [String: Any]
        }
        let object: [String: Any] = ["updated_unix": Int(Date().timeIntervalSince1970), "apps": apps]
        guard let json = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
        else { return }
        try? json.write(to: URL(fileURLWithPath: path(directory)), options: .atomic)
    }
}
