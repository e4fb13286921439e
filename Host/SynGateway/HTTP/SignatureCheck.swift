import Foundation
import Hummingbird
import HTTPTypes
import SynHTTPSig

/// RFC 9421 request authentication: a signed request yields its verified caller key; an unsigned one yields none.
/// A request that carries a signature must verify: a bad signature is never downgraded to anonymous.
struct SignatureCheck: Sendable {
    let verifier: SignatureVerifier
    let metrics: GatewayMetrics

    init(windowSeconds: Int, replayEntries: Int, metrics: GatewayMetrics) {
        verifier = SignatureVerifier(configuration: .init(window: Int64(windowSeconds)),
                                     replayCache: ReplayCache(capacity: replayEntries))
        self.metrics = metrics
    }

    /// The caller's public key, or empty when the request is unsigned. Throws 401 (503 when the replay cache is
    /// full) naming what was wrong.
    func caller(of request: HTTPRequest, body: [UInt8]) throws(APIError) -> [UInt8] {
        guard request.headerFields[.signature] != nil || request.headerFields[.signatureInput] != nil else { return [] }
        let fields = request.headerFields.map { SynHTTPSig.HTTPField(name: $0.name.rawName, value: $0.value) }
        let signed = SignedRequest(method: request.method.rawValue, scheme: request.scheme ?? "http",
                                   authority: request.authority ?? "", target: request.path ?? "",
                                   headers: fields, body: body)
        do {
            return try verifier.verify(signed, now: Int64(Date().timeIntervalSince1970)).publicKey
        } catch {
            metrics.signatureRejected(error.code.wireCode)
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = #"Signature realm="syneroym", alg="ed25519""#
            let status: HTTPResponse.Status = error.code.httpStatus == 503 ? .serviceUnavailable : .unauthorized
            throw APIError(status, error.code.wireCode, error.message + " (docs/request-signing.md)", headers: headers)
        }
    }
}
