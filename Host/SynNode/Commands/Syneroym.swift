import ArgumentParser

/// The `syneroym` command: the node and its CLI.
@main
struct Syneroym: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syneroym",
        abstract: "A substrate node that hosts sandboxed SynApps.",
        subcommands: [Init.self, Run.self, Doctor.self, Apps.self, Keys.self, Call.self, Audit.self, Exec.self, Bench.self]
    )
}
