import Foundation
import SynConfig

/// Changes one key of node.toml in place, keeping the owner's comments and layout: the file is the node owner's,
/// so the node edits only the line it must, re-parses the result, and replaces the file atomically.
enum NodeTomlEditor {
    /// Sets `[apps.<app>] enabled` and returns the reloaded configuration.
    static func setEnabled(_ enabled: Bool, app: String, path: String) throws(NodeError) -> NodeConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw NodeError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
        let updated = setting(text, table: "apps.\(app)", key: "enabled", value: enabled ? "true" : "false")
        let config: NodeConfig
        do { config = try NodeConfig.parse(updated, file: path) } catch {
            throw NodeError(.config, "\(path) would not parse after setting apps.\(app).enabled: \(error)")
        }
        try replace(path, with: updated)
        return config
    }

    /// Appends `section` (whole tables) to node.toml and returns the reloaded configuration; refuses a result that
    /// does not parse, and leaves the file as it was then.
    static func append(_ section: String, path: String) throws(NodeError) -> NodeConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw NodeError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
        let updated = (text.hasSuffix("\n") || text.isEmpty ? text : text + "\n") + "\n" + section
        let config: NodeConfig
        do { config = try NodeConfig.parse(updated, file: path) } catch {
            throw NodeError(.config, "\(path) would not parse with the new section: \(error)")
        }
        try replace(path, with: updated)
        return config
    }

    /// Replaces the file at `path` with `text` atomically (a private temporary file, then rename).
    private static func replace(_ path: String, with text: String) throws(NodeError) {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]),
              rename(temporary, path) == 0 else {
            unlink(temporary)
            throw NodeError(.io, "cannot write \(path)")
        }
    }

    /// `text` with `key = value` set in `[table]`: the existing line replaced, else added under the header, else a
    /// new table appended.
    static func setting(_ text: String, table: String, key: String, value: String) -> String {
        var lines = text.components(separatedBy: "\n")
        let quoted = table.split(separator: ".", maxSplits: 1).map(String.init)
        let headers = ["[\(table)]"] + (quoted.count == 2 ? ["[\(quoted[0]).\"\(quoted[1])\"]"] : [])
        func isHeader(_ line: String) -> Bool { line.trimmingCharacters(in: .whitespaces).hasPrefix("[") }
        func matches(_ line: String) -> Bool {
            let bare = line.split(separator: "#", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return headers.contains(bare)
        }
        guard let start = lines.firstIndex(where: matches) else {
            if lines.last == "" { lines.removeLast() }
            return (lines + ["", "[\(table)]", "\(key) = \(value)", ""]).joined(separator: "\n")
        }
        var index = start + 1
        while index < lines.count, !isHeader(lines[index]) {
            let bare = lines[index].trimmingCharacters(in: .whitespaces)
            if bare.hasPrefix(key), bare.dropFirst(key.count).trimmingCharacters(in: .whitespaces).hasPrefix("=") {
                let comment = lines[index].range(of: "#").map { "  " + lines[index][$0.lowerBound...] } ?? ""
                lines[index] = "\(key) = \(value)" + comment
                return lines.joined(separator: "\n")
            }
            index += 1
        }
        lines.insert("\(key) = \(value)", at: start + 1)
        return lines.joined(separator: "\n")
    }
}
