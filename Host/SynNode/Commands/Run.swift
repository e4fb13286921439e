import ArgumentParser
import Foundation
import SynBroker
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
        umask(0o077) // the node's files are private to its owner
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: manifests)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        guard !files.isEmpty else {
            FileHandle.standardError.write(Data("error: no manifests (*.toml) in \(manifests)\n".utf8))
            throw ExitCode(2)
        }
        var loaded: [(AppManifest, SandboxProfile, WorkerSpec)] = []
        for file in files {
            let path = (manifests as NSString).appendingPathComponent(file)
            do { loaded.append(try AppLoader.spec(manifestPath: path, profilePath: nil, profileDirectory: profiles)) } catch {
                Self.say("skipping \(path): \(error.message)")
            }
        }
        let node: NodeConfig
        let broker: Broker
        let nodeToml = data + "/node.toml"
        let firstStart = !FileManager.default.fileExists(atPath: nodeToml)
        do {
            node = try NodeSetup.nodeConfig(data: data, manifests: loaded.map(\.0), announce: true)
            broker = try NodeSetup.broker(data: data, node: node, manifests: loaded.map(\.0))
        } catch {
            Self.say(error.message)
            throw ExitCode(2)
        }
        // Management actions are audited like any other: what the node was started with, and when it stopped.
        if firstStart {
            broker.audit.append(actor: "node", app: "", action: "config.create", decision: "ok",
                                cause: "wrote \(nodeToml) granting the manifests' requests to \(loaded.map(\.0.id).joined(separator: ", "))")
        }
        let digest = (try? FileDigest.sha256Hex(path: nodeToml)) ?? "unreadable"
        broker.audit.append(actor: "node", app: "", action: "node.start", decision: "ok",
                            cause: "apps \(loaded.map { "\($0.0.id) \($0.0.version)" }.joined(separator: ", ")); node.toml sha256 \(digest)")
        var supervisors: [AppSupervisor] = []
        let dispatcher = EventDispatcher(store: broker.events)
        broker.onCommit = { dispatcher.notify() }
        for (manifest, requestedProfile, requestedSpec) in loaded {
            var profile = requestedProfile, spec = requestedSpec
            // The node owner's choice of profile wins over the manifest's request.
            if let chosen = node.apps[manifest.id]?.profile, chosen != profile.name {
                do {
                    profile = try AppLoader.loadProfile(named: chosen, explicit: nil, directories: [profiles])
                    spec = WorkerSpec(manifest: manifest, profile: profile, library: spec.libraryPath,
                                      workerExecutable: spec.workerExecutable)
                } catch {
                    Self.say("skipping \(manifest.id): \(error.message) (node.toml key apps.\(manifest.id).profile)")
                    continue
                }
            }
            if node.apps[manifest.id]?.enabled == false {
                Self.say("app \(manifest.id) is disabled in \(data)/node.toml")
                continue
            }
            let policy = SupervisorPolicy(instances: profile.limits.instances, queueDepth: profile.limits.queueDepth)
            let s = AppSupervisor(spec: spec, policy: policy, hostCalls: broker,
                                  log: { line in Self.say("app \(line.app) [\(line.level)] \(line.message)") },
                                  onEvent: { event in
                                      Self.say("event \(event)")
                                      broker.audit.record(event)
                                  })
            s.start()
            supervisors.append(s)
            dispatcher.attach(app: manifest.id, policy: Policy(manifest: manifest, node: node), supervisor: s)
            Self.say("app \(manifest.id) \(manifest.version) under profile \(profile.name) (\(profile.limits.instances) instance(s))")
        }
        Self.say("node running with \(supervisors.count) app(s); data in \(data); Ctrl-C to stop")
        let running = supervisors
        let snapshot: @Sendable () -> Void = {
            StatsFile.write(running.map { ($0.spec.appID, broker.complete($0.footprint, of: $0.spec.appID)) },
                            toDirectory: data)
        }
        snapshot()
        // The event log's retention (node.toml [events]): at start, then hourly. Dropping events a subscriber has
        // not received yet is a loss, so it is audited.
        let retention = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        retention.schedule(deadline: .now(), repeating: 3600)
        retention.setEventHandler {
            let cutoff = EventStore.wallNs() - Int64(node.eventRetentionDays) * 86_400 * 1_000_000_000
            let (deleted, undelivered) = broker.events.prune(olderThanNs: cutoff, maxEvents: node.maxEvents,
                                                             subscribers: dispatcher.subscribers)
            guard deleted > 0 else { return }
            Self.say("event log: removed \(deleted) events past retention (\(undelivered) not yet delivered)")
            if undelivered > 0 {
                broker.audit.append(actor: "node", app: "", action: "events.retention", decision: "dropped",
                                    cause: "\(undelivered) undelivered events removed by node.toml [events] retention_days=\(node.eventRetentionDays) / max_events=\(node.maxEvents)")
            }
        }
        retention.resume()
        let statsWriter = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        statsWriter.schedule(deadline: .now() + 5, repeating: 5)
        statsWriter.setEventHandler(handler: snapshot)
        statsWriter.resume()
        var received: Int32 = 0
        sigwait(&signals, &received)
        Self.say("signal \(received): stopping")
        statsWriter.cancel()
        retention.cancel()
        dispatcher.stop()
        for s in supervisors { s.stop() }
        // Let the instance threads shut their workers down (bounded).
        for _ in 0..<500 where supervisors.contains(where: { $0.state != .stopped || $0.hasLiveThreads }) { usleep(10_000) }
        snapshot()
        broker.audit.append(actor: "node", app: "", action: "node.stop", decision: "ok", cause: "signal \(received)")
        broker.close()
        Self.say("stopped")
    }

    static func say(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
