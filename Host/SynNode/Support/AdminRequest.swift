import ArgumentParser
import Foundation

/// A signed request to `/v1/admin/...` (or a public route) whose JSON answer a command prints or reads.
enum AdminRequest {
    /// Sends it, and returns the decoded JSON object of a 2xx answer; otherwise prints the error and exits 1
    /// (2 for bad input or an unreachable node).
    static func send(_ client: ClientOptions, _ method: String, _ path: String, signed: Bool = true,
                     body: [UInt8] = [], contentType: String = "application/json") async throws -> [String: Any] {
        do {
            let key = signed ? try Keyring().load(client.key) : nil
            let reply = try await GatewayClient(base: try client.baseURL(), key: key).send(method, path, body: body, contentType: contentType)
            guard (200..<300).contains(reply.status) else {
                FileHandle.standardError.write(Data("HTTP \(reply.status): \(reply.text)\n".utf8))
                throw ExitCode(1)
            }
            guard let object = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any] else {
                throw CLIError("error: the node answered something that is not a JSON object")
            }
            return object
        } catch let error as CLIError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.code)
        }
    }
}
