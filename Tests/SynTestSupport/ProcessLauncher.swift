import Foundation

/// Runs a child to its end, for every test target (through `ChildProcess`, never Foundation's `Process`).
public enum ProcessLauncher {
    /// Runs `executable` with `arguments` to its end (environment: this process's, with `environment` on top; in
    /// `directory` when given); its exit status and its stdout and stderr together.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           directory: String? = nil) throws -> (status: Int32, output: String) {
        let child = try ChildProcess(executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                                     directory: directory, stdout: .pipe, stderr: .stdout)
        let output = child.readOutput()
        return (child.wait(), output)
    }
}
