import Foundation
public import NIOCore
public import SynBroker
public import SynConfig
import SynTLS
import SynWire
import Synchronization

/// The node's `net_request`: turns the broker's `FetchCall` into a `FetchClient` request and its result into what
/// the app sees. The trust store (the system's certificate authorities and `[fetch] ca_file`) is read on the first
/// request, so a node whose apps fetch nothing does not hold it.
public final class NodeFetcher: Sendable {
    private let settings: FetchSettings
    private let group: any EventLoopGroup
    private let client = Mutex<FetchClient?>(nil)

    public init(settings: FetchSettings, group: any EventLoopGroup) {
        self.settings = settings
        self.group = group
    }

    /// Headers an app may not set: the client owns the framing and the connection.
    static let reservedHeaders: Set<String> = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te",
                                               "trailer", "keep-alive", "proxy-connection", "proxy-authorization", "expect"]

    public func run(_ call: FetchCall) -> FetchOutcome {
        let headers: [(String, String)]
        do throws(FetchError) { headers = try Self.headers(call.headersJSON) } catch {
            return .failed(status: SynStatus.badArg, message: error.message)
        }
        guard let url = FetchURL(call.url) else { return .failed(status: SynStatus.badArg, message: "the URL must be https://host[:port]/path") }
        let fetcher: FetchClient
        do { fetcher = try made() } catch { return .failed(status: SynStatus.io, message: error.message) }
        do throws(FetchError) {
            let response = try fetcher.fetch(method: call.method, url: url, headers: headers, body: call.body, deadlineNs: call.deadlineNs) { target in
                let (denial, namesAddress) = call.permit(target.description)
                if let denial { return .denied("the redirect to \(target) is not granted: \(denial)") }
                return .allowed(privateAddress: namesAddress)
            }
            return .response(status: response.status, body: response.body)
        } catch {
            let status: Int32 = switch error.code {
            case .denied, .forbiddenAddress: SynStatus.denied
            case .badRequest: SynStatus.badArg
            case .tooLarge: SynStatus.tooLarge
            case .timeout: SynStatus.timeout
            case .network: SynStatus.io
            }
            return .failed(status: status, message: error.message)
        }
    }

    private func made() throws(TLSError) -> FetchClient {
        let result: Result<FetchClient, TLSError> = client.withLock { existing in
            if let existing { return .success(existing) }
            do throws(TLSError) {
                let made = FetchClient(trust: try WebTrust(caFile: settings.caFile), group: group,
                                       maxResponseBytes: settings.maxResponseKB * 1024)
                existing = made
                return .success(made)
            } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The app's headers: a JSON object of strings (empty for none), at most 64, names of token characters, values
    /// without control characters, none of `reservedHeaders`.
    static func headers(_ json: [UInt8]) throws(FetchError) -> [(String, String)] {
        guard !json.isEmpty else { return [] }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any] else {
            throw FetchError(.badRequest, #"headers_json must be a JSON object of strings, e.g. {"Accept": "application/json"}"#)
        }
        guard object.count <= 64 else { throw FetchError(.badRequest, "at most 64 headers") }
        var out: [(String, String)] = []
        for (name, raw) in object.sorted(by: { $0.key < $1.key }) {
            guard let value = raw as? String else { throw FetchError(.badRequest, "header \(name): the value must be a string") }
            let tokenOK = !name.isEmpty && name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(c)
            }
            guard tokenOK else { throw FetchError(.badRequest, "header name \"\(name)\" is not an HTTP token") }
            guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7f }) else {
                throw FetchError(.badRequest, "header \(name): control characters are not allowed in a value")
            }
            guard !reservedHeaders.contains(name.lowercased()) else {
                throw FetchError(.badRequest, "header \(name) is set by the node")
            }
            out.append((name, value))
        }
        return out
    }
}
