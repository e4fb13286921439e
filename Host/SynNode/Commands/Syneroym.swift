import ArgumentParser

/// The `syneroym` command: the node and its CLI.
@main
struct Syneroym: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syneroym",
        abstract: "A substrate node that hosts sandboxed SynApps.",
        subcommands: [Run.self, Exec.self, Apps.self, Audit.self, Bench.self]
    )
}
