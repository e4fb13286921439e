import ArgumentParser
import Foundation
import SynSandbox

/// `syneroym exec`: start one sandboxed worker, make one call, print one JSON object.
struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one call of an app in a fresh sandboxed worker and print the outcome as JSON.",
        discussion: """
            Prints {"outcome": ..., "detail": ..., "status": <int|null>, "body": <JSON|string|null>}.
            Exit status: 0 when the outcome is ok, 3 when the app was stopped (killed, crashed, timed out),
            2 on bad input (message on stderr).
            """)

    @Option(help: "The app's manifest (TOML).") var manifest: String
    @Option(help: "A sandbox profile file; default: the manifest's [sandbox] profile from sandbox-profiles/.")
    var profile: String?
    @Option(help: "The verified caller's public key as 64 hex characters (default: anonymous).") var caller: String?
    @Option(help: "A node data directory (node.toml, keys, app databases); default: a fresh one that grants the manifest's requests.")
    var data: String?
    @Argument(help: "The method to call.") var method: String
    @Argument(help: "The request body (use - to read it from stdin).") var body: String = ""

    func run() throws {
        do {
            try execute()
        } catch {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.code)
        }
    }

    private func execute() throws(CLIError) {
        let (loaded, _, spec) = try AppLoader.spec(manifestPath: manifest, profilePath: profile)
        let directory = data ?? NSTemporaryDirectory() + "syneroym-exec-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let node = try NodeSetup.nodeConfig(data: directory, manifests: [loaded], announce: false)
        let broker = try NodeSetup.broker(data: directory, node: node, manifests: [loaded])
        let callerKey = try parseCaller()
        let bodyBytes = body == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile()) : Array(body.utf8)
        let worker: WorkerProcess
        let log: @Sendable (AppLogLine) -> Void = { line in
            FileHandle.standardError.write(Data("[\(line.app)] \(Self.levelName(line.level)): \(line.message)\n".utf8))
        }
        do { worker = try WorkerProcess.start(spec, hostCalls: broker, log: log) } catch {
            switch error {
            case .refused(let e): throw CLIError("error: \(e.message)")
            case .died(let death): report(death)
            }
        }
        defer { worker.shutdown() }
        do {
            let reply = try worker.handle(method: method, caller: callerKey, body: bodyBytes)
            if reply.status != 0 {
                let message = String(decoding: reply.body, as: UTF8.self)
                print(JSONText.object([("outcome", JSONText.string("ok")),
                                       ("detail", JSONText.string("the app returned \(StatusNames.name(reply.status)): \(message)")),
                                       ("status", "null"), ("body", "null")]))
                return
            }
            print(JSONText.object([("outcome", JSONText.string("ok")), ("detail", JSONText.string("")),
                                   ("status", String(reply.httpStatus)), ("body", JSONText.value(reply.body))]))
        } catch {
            switch error {
            case .died(let death): report(death)
            case .refused(let e): throw CLIError("error: \(e.message)")
            }
        }
    }

    static func levelName(_ level: Int32) -> String {
        ["trace", "debug", "info", "warn", "error"].indices.contains(Int(level))
            ? ["trace", "debug", "info", "warn", "error"][Int(level)] : "level \(level)"
    }

    private func report(_ death: WorkerDeath) -> Never {
        print(JSONText.object([("outcome", JSONText.string(death.outcome.rawValue)),
                               ("detail", JSONText.string(death.detail)), ("status", "null"), ("body", "null")]))
        Foundation.exit(3)
    }

    private func parseCaller() throws(CLIError) -> [UInt8] {
        guard let caller else { return [] }
        let hex = Array(caller.utf8)
        guard hex.count == 64 else { throw CLIError("error: --caller must be 64 hex characters (a raw ed25519 public key)") }
        var out: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let b = UInt8(String(decoding: hex[i..<i + 2], as: UTF8.self), radix: 16) else {
                throw CLIError("error: --caller is not hexadecimal")
            }
            out.append(b)
        }
        return out
    }
}

/// Names of `syn_status` codes, as in synapp.h.
enum StatusNames {
    static func name(_ status: Int32) -> String {
        let names = ["SYN_OK", "SYN_E_NOT_FOUND", "SYN_E_BAD_ARG", "SYN_E_DENIED", "SYN_E_QUOTA", "SYN_E_TIMEOUT",
                     "SYN_E_UNSUPPORTED", "SYN_E_CONFLICT", "SYN_E_TOO_LARGE", "SYN_E_IO", "SYN_E_INTERNAL"]
        let i = Int(-status)
        return (0..<names.count).contains(i) ? names[i] : "status \(status)"
    }
}
