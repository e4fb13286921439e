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
struct AuditVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the audit log's chain, signed checkpoints and signed head.",
        discussion: "With --head H (a head printed earlier by `syneroym audit head`), also checks that the log still holds that entry unchanged: no truncation or rewrite since H can hide.")
    @OptionGroup var options: DataOption
    @Option(help: "A head printed earlier by `syneroym audit head`.") var head: String?

    func run() throws {
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
