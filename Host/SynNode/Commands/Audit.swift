import ArgumentParser
import Foundation
import SynBroker
import SynSodium

/// `syneroym audit`: read and verify the node's hash-chained audit log.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or verify the node's audit log.", subcommands: [AuditVerify.self, AuditShow.self, AuditHeadCommand.self])
}

/// Checks every entry's hash, the chain, the signed checkpoints and the node's signed head, and a head kept
/// elsewhere with `--head`; exits 1 naming the first broken entry.
struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the audit log's chain, signed checkpoints and signed head, and the heads its peers hold.",
        discussion: """
            With --head H (a head printed earlier by `syneroym audit head`), also checks that the log still holds that \
            entry unchanged: no truncation or rewrite since H can hide. While the node runs, it also asks each linked \
            peer which of this node's heads it holds, and checks the log against every one of them.
            """)
    @OptionGroup var client: ClientOptions
    var options: DataOption { client.dataOption }
    @Option(help: "A head printed earlier by `syneroym audit head`.") var head: String?

    func run() async throws {
        let key: SigningKey
        do { key = try KeyFile.load(path: options.data + "/node.key") } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        var expected: AuditHead?
        if let head {
            guard let parsed = AuditHead(text: head) else {
                FileHandle.standardError.write(Data("error: --head must be a head as `syneroym audit head` prints it (<seq>.<time_ns>.<hash>.<signature>)\n".utf8))
                throw ExitCode(2)
            }
            expected = parsed
        }
        let report: AuditVerifier.Report
        do {
            report = try AuditVerifier.verify(path: options.data + "/node.db", nodePublicKey: key.publicKey,
                                              headPath: options.data + "/audit.head", expected: expected)
        } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        if let broken = report.firstBroken {
            print("broken at entry \(broken.seq): \(broken.reason)")
            throw ExitCode(1)
        }
        let headText = report.head.map { "signed head at entry \($0.seq)" } ?? "no signed head yet"
        print("ok: \(report.entries) entries, \(report.checkpoints) signed checkpoints, \(headText)"
              + (expected.map { ", and the head given (entry \($0.seq))" } ?? ""))
        guard Peers.online(client) else {
            print("witnesses: not asked (the node is not running; while it runs, this also checks the heads its peers hold)")
            return
        }
        let answer: [String: Any]
        do { answer = try await AdminRequest.send(client, "GET", "/v1/admin/witnesses") } catch {
            // The log itself is fine; what the peers hold needs the owner's key (the error above says why not).
            print("witnesses: not asked (the node's owner routes refused or could not be reached)")
            return
        }
        let witnesses = answer["witnesses"] as? [[String: Any]] ?? []
        if witnesses.isEmpty { print("witnesses: none (no peer's link is up)") }
        var broken: String?
        for w in witnesses {
            let id = w["node_id"] as? String ?? "?"
            let name = (w["name"] as? String).flatMap { $0.isEmpty ? nil : "\($0) (\(id))" } ?? id
            if let error = w["error"] as? String {
                print("witness \(name): \(error)")
            } else if let text = w["head"] as? String, let held = AuditHead(text: text) {
                if let mismatch = AuditVerifier.check(held, name: "the head peer \(name) holds", path: options.data + "/node.db",
                                                      entries: report.entries, nodePublicKey: key.publicKey) {
                    print("witness \(name): BROKEN at entry \(mismatch.seq): \(mismatch.reason)")
                    broken = broken ?? "broken at entry \(mismatch.seq): \(mismatch.reason)"
                } else {
                    print("witness \(name): holds entry \(held.seq), which the log has unchanged")
                }
            } else {
                print("witness \(name): holds no head of this node yet")
            }
        }
        if let broken {
            print(broken)
            throw ExitCode(1)
        }
    }
}

/// Prints the node's latest signed head, to keep somewhere `node.db` is not (a note, another machine, a peer).
struct AuditHeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Print the audit log's latest signed head, for `audit verify --head` later.")
    @OptionGroup var options: DataOption

    func run() throws {
        let path = options.data + "/audit.head"
        do {
            let key = try KeyFile.load(path: options.data + "/node.key")
            guard let head = try AuditHead.load(path: path) else {
                FileHandle.standardError.write(Data("error: no signed head at \(path) yet: the node writes one every few seconds while entries arrive, and at every stop\n".utf8))
                throw ExitCode(1)
            }
            guard head.isSigned(by: key.publicKey) else {
                FileHandle.standardError.write(Data("error: \(path) is not signed by this node's key; run `syneroym audit verify`\n".utf8))
                throw ExitCode(1)
            }
            print(head.text)
        } catch let error as SodiumError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        } catch let error as BrokerError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// Prints the most recent entries, one per line: sequence, ISO-8601 UTC time, actor, app, action, decision, cause.
struct AuditShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print recent audit entries.")
    @OptionGroup var options: DataOption
    @Option(help: "How many entries.") var limit: Int = 50

    func run() throws {
        let entries: [AuditEntry]
        do { entries = try AuditLog.recent(path: options.data + "/node.db", limit: max(limit, 0)) } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        for e in entries {
            print("\(e.seq)\t\(Self.iso8601(e.timeNs))\t\(e.actor)\t\(e.app)\t\(e.action)\t\(e.decision)\t\(e.cause)")
        }
    }

    /// `2026-12-02T14:05:09.123Z`.
    static func iso8601(_ ns: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ns / 1_000_000) / 1000))
    }
}
