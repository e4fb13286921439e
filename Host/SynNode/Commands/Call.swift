import ArgumentParser
import Foundation
import SynText

/// `syneroym call APP METHOD [JSON]`: a signed call through the node's gateway.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call an app's method through the node's gateway, signed with your key.",
        discussion: """
            Prints the app's response body. Exit status: 0 for a 2xx answer, 1 for an HTTP error (the JSON error \
            goes to stderr), 2 for bad input or an unreachable node.
            """)
    @OptionGroup var client: ClientOptions
    @Flag(help: "Send the request unsigned (only the manifest's public methods accept it).") var anonymous = false
    @Argument(help: "The app id.") var app: String
    @Argument(help: "The method.") var method: String
    @Argument(help: "The JSON body (- reads it from stdin).") var json: String = ""

    func run() async throws {
        do {
            let body = json == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile()) : Array(json.utf8)
            // The gateway's own check, so the CLI refuses exactly what the node would.
            guard body.isEmpty || JSONScan.isJSON(body) else {
                throw CLIError("error: the body is not valid JSON (RFC 8259, nested at most \(JSONScan.maxDepth) deep)")
            }
            let key = anonymous ? nil : try Keyring().load(client.key)
            let reply = try await GatewayClient(base: try client.baseURL(), key: key)
                .send("POST", "/v1/apps/\(Self.escape(app))/\(Self.escape(method))", body: body)
            guard (200..<300).contains(reply.status) else {
                FileHandle.standardError.write(Data("HTTP \(reply.status): \(reply.text)\n".utf8))
                throw ExitCode(1)
            }
            print(reply.text)
        } catch let error as CLIError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.code)
        }
    }

    /// A path segment, percent-encoded (ids and methods are plain ASCII names; anything else is escaped).
    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }
}
