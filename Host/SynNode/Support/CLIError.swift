import ArgumentParser
import Foundation

/// A command-line failure: printed on stderr, with the exit code the command documents.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    init(_ message: String, code: Int32 = 2) {
        self.message = message
        self.code = code
    }
    var description: String { message }
}

/// A subcommand whose failures are `CLIError`s: the message goes to stderr and the process exits with its code.
protocol CheckedCommand: ParsableCommand {
    func execute() throws(CLIError)
}

extension CheckedCommand {
    func run() throws {
        do { try execute() } catch {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.code)
        }
    }
}
