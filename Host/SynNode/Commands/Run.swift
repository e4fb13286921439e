import ArgumentParser
import Foundation
import SynConfig
import SynSandbox

/// `syneroym run`: start every app in the manifests directory under its profile and supervise it until
/// SIGINT or SIGTERM. The HTTP gateway arrives with the node issue; until then this runs the runtime only.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the node: supervise every app in the manifests directory.")

    @Option(help: "Directory of app manifests (*.toml).") var manifests: String = "manifests"
    @Option(help: "Directory of sandbox profiles (*.toml).") var profiles: String = "sandbox-profiles"
    @Option(help: "The node's data directory.") var data: String =
        (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.local/share/syneroym"

    func run() throws {
        // Before any thread starts, so every thread inherits the mask and only sigwait below sees the signals.
        // Dispositions go back to default: a node started in the background inherits SIGINT ignored.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: manifests)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        guard !files.isEmpty else {
            FileHandle.standardError.write(Data("error: no manifests (*.toml) in \(manifests)\n".utf8))
            throw ExitCode(2)
        }
        var supervisors: [AppSupervisor] = []
        for file in files {
            let path = (manifests as NSString).appendingPathComponent(file)
            do {
                let (manifest, profile, spec) = try AppLoader.spec(manifestPath: path, profilePath: nil, profileDirectory: profiles)
                let policy = SupervisorPolicy(instances: profile.limits.instances, queueDepth: profile.limits.queueDepth)
                let s = AppSupervisor(spec: spec, policy: policy,
                                      log: { app, level, line in Self.say("app \(app) [\(level)] \(line)") },
                                      onEvent: { Self.say("event \($0)") })
                s.start()
                supervisors.append(s)
                Self.say("app \(manifest.id) \(manifest.version) under profile \(profile.name) (\(profile.limits.instances) instance(s))")
            } catch {
                Self.say("skipping \(path): \(error.message)")
            }
        }
        Self.say("node running with \(supervisors.count) app(s); data in \(data); Ctrl-C to stop")
        var received: Int32 = 0
        sigwait(&signals, &received)
        Self.say("signal \(received): stopping")
        for s in supervisors { s.stop() }
        // Let the instance threads shut their workers down (bounded).
        for _ in 0..<500 where supervisors.contains(where: { $0.state != .stopped || $0.hasLiveThreads }) { usleep(10_000) }
        Self.say("stopped")
    }

    static func say(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
