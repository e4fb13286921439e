import ArgumentParser
import Foundation

/// `--data DIR`, which every command takes: the node's data directory.
struct DataOption: ParsableArguments {
    @Option(help: "The node's data directory (default: $SYNEROYM_DATA, else ~/.local/share/syneroym).")
    var data: String = DataOption.defaultDirectory

    static var defaultDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["SYNEROYM_DATA"], !explicit.isEmpty { return explicit }
        return homeDefault
    }

    /// `~/.local/share/syneroym`, the directory used when neither `--data` nor `$SYNEROYM_DATA` names one.
    static var homeDefault: String { (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.local/share/syneroym" }
}
