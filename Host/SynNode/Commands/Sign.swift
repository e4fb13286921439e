import ArgumentParser
import Foundation
import SynBroker
import SynSodium

/// `syneroym sign`: signatures a person makes for an app to carry: a Messaging envelope, or a call another app
/// passes on for them (`app_call`). It prints JSON to pass to `syneroym call`.
struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign a Messaging envelope, or a call an app passes on for you (prints JSON for `syneroym call`).",
        subcommands: [SignEnvelope.self, SignCall.self])
}

/// `syneroym sign envelope`: docs/messaging.md's envelope, signed in the `messaging` app's domain.
struct SignEnvelope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "envelope",
        abstract: "Print {\"envelope\": ...} for `syneroym call messaging messages.post -`.",
        discussion: "The sequence number is yours in that conversation: 1 for the first (a create), then the next_seq that conversations.get shows you.")
    @Option(name: .customLong("as"), help: "Sign with this key from `syneroym keys list`.") var key: String = "default"
    @Option(help: "The conversation id.") var conversation: String
    @Option(help: "Your sequence number in the conversation.") var seq: Int64
    @Option(help: "create, text, structured, member_add, member_remove, admin_add, leave or rename.") var kind: String
    @Option(help: "The body, exactly as it is to be signed (text, or a JSON document as text).") var body: String = ""
    @Option(help: "The hybrid clock (default: now in ms × 1000).") var hlc: Int64?

    func run() throws {
        do {
            let signing = try Keyring().load(key)
            let author = Base64URL.encode(signing.publicKey)
            let clock = hlc ?? Int64(Date().timeIntervalSince1970 * 1000) * 1000
            guard !conversation.contains("\n"), !kind.contains("\n") else { throw CLIError("error: --conversation and --kind are one line each", code: 2) }
            // docs/messaging.md: every field but the signature, one per line, the body last and whole.
            let signed = Array("syneroym-message-v1\n\(conversation)\n\(author)\n\(seq)\n\(clock)\n\(kind)\n".utf8) + Array(body.utf8)
            let envelope: [String: Any] = ["conversation_id": conversation, "author": author, "seq": seq, "hlc": clock, "kind": kind,
                                           "body": body, "signature": Base64URL.encode(signing.sign(domain: .app("messaging"), signed))]
            print(String(decoding: try JSONSerialization.data(withJSONObject: ["envelope": envelope], options: [.sortedKeys]), as: UTF8.self))
        } catch let error as CLIError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.code)
        }
    }
}

/// `syneroym sign call`: docs/abi.md §8's signed call, for app `--via` to pass on to `--app`'s `--method`.
struct SignCall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Print the on_behalf array that lets app --via call --app's --method with --body for you, once, within 5 minutes.")
    @Option(name: .customLong("as"), help: "Sign with this key from `syneroym keys list`.") var key: String = "default"
    @Option(parsing: .unconditional, help: "The node's id (`node` in GET /v1/health).") var node: String
    @Option(help: "The app that passes the call on (e.g. messaging).") var via: String
    @Option(help: "The app called (e.g. homeservices).") var app: String
    @Option(help: "Its method (e.g. quotes.accept).") var method: String
    @Option(help: "The body, exactly as the app will send it.") var body: String = ""

    func run() throws {
        do {
            let signing = try Keyring().load(key)
            let created = Int64(Date().timeIntervalSince1970)
            let nonce = Base64URL.encode(SecureRandom.bytes(12))
            for (value, name) in [(node, "--node"), (via, "--via"), (app, "--app"), (method, "--method")] where value.contains("\n") || value.isEmpty {
                throw CLIError("error: \(name) is one non-empty line", code: 2)
            }
            let message = SignedCall.message(node: node, via: via, app: app, method: method, body: Array(body.utf8), created: created, nonce: nonce)
            let signature = Base64URL.encode(signing.sign(domain: .appCall, message))
            print("[\"\(Base64URL.encode(signing.publicKey))\",\(created),\"\(nonce)\",\"\(signature)\"]")
        } catch let error as CLIError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.code)
        }
    }
}
