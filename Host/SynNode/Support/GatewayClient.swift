import Foundation
import SynHTTPSig
import SynSodium

/// A signed (or anonymous) HTTP request to a node's gateway, for the CLI.
struct GatewayClient {
    let base: String
    let key: SigningKey?

    struct Reply {
        let status: Int
        let body: Data
        let requestID: String
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends `method path` with `body`, signed per docs/request-signing.md when there is a key.
    func send(_ method: String, _ path: String, body: [UInt8] = [], contentType: String = "application/json") async throws(CLIError) -> Reply {
        let url = base + path
        var headers: [(String, String)] = []
        if !body.isEmpty { headers.append(("Content-Type", contentType)) }
        if let key {
            do {
                let signed = try RequestSigner(key: key).sign(method: method, url: url, body: body,
                                                              created: Int64(Date().timeIntervalSince1970))
                headers += signed.fields.map { ($0.name, $0.value) }
            } catch { throw CLIError("error: cannot sign the request: \(error.message)") }
        }
        let reply = try await HTTPClient.send(method, url, headers: headers, body: body)
        return Reply(status: reply.status, body: Data(reply.body), requestID: reply.header("X-Request-Id") ?? "")
    }
}
