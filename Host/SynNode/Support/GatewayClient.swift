import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
    func send(_ method: String, _ path: String, body: [UInt8] = []) async throws(CLIError) -> Reply {
        let urlText = base + path
        guard let url = URL(string: urlText) else { throw CLIError("error: not a URL: \(urlText)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 120
        if !body.isEmpty {
            request.httpBody = Data(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let key {
            do {
                let signed = try RequestSigner(key: key).sign(method: method, url: urlText, body: body,
                                                              created: Int64(Date().timeIntervalSince1970))
                for field in signed.fields { request.setValue(field.value, forHTTPHeaderField: field.name) }
            } catch { throw CLIError("error: cannot sign the request: \(error.message)") }
        }
        let data: Data, response: URLResponse
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            throw CLIError("error: cannot reach the node at \(base): \(error.localizedDescription) (is `syneroym run` running? --node URL)")
        }
        guard let http = response as? HTTPURLResponse else { throw CLIError("error: \(base) did not answer HTTP") }
        return Reply(status: http.statusCode, body: data, requestID: http.value(forHTTPHeaderField: "X-Request-Id") ?? "")
    }
}
