import ArgumentParser
import Foundation
import SynBroker
import SynSodium

/// `syneroym audit`: read and verify the node's hash-chained audit log.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or verify the node's audit log.", subcommands: [AuditVerify.self, AuditShow.self])
}

/// Checks every entry's hash, the chain and the signed checkpoints; exits 1 naming the first broken entry.
struct AuditVerify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify",
                                                    abstract: "Verify the audit log's chain and signed checkpoints.")
    @OptionGroup var options: DataOption

    func run() throws {
        let key: SigningKey
        do { key = try KeyFile.load(path: options.data + "/node.key") } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        let report: AuditVerifier.Report
        do { report = try AuditVerifier.verify(path: options.data + "/node.db", nodePublicKey: key.publicKey) } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        if let broken = report.firstBroken {
            print("broken at entry \(broken.seq): \(broken.reason)")
            throw ExitCode(1)
        }
        print("ok: \(report.entries) entries, \(report.checkpoints) signed checkpoints")
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
