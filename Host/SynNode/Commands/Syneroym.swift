import ArgumentParser
import Foundation

/// The `syneroym` command: the node and its CLI.
@main
struct Syneroym: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syneroym",
        abstract: "A substrate node that hosts sandboxed SynApps.",
        subcommands: [Init.self, Run.self, Doctor.self, Apps.self, Peers.self, Keys.self, Call.self, Stream.self, Sign.self, Audit.self, Exec.self, Pack.self, Verify.self, Backup.self, Restore.self, Bench.self]
    )

    /// As ArgumentParser's, except that a usage error exits 2 (as the README says), not 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            // A command's own error: its message (which names the fix) and its exit code.
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            Foundation.exit(error.code)
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
