import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import SynWeb

/// The pages: `GET /` (people: customers and providers) and `GET /admin` (the node's owner), and their files under
/// `/assets/`. Static, from memory, with a strong ETag; every action on them is a request the page signs with the
/// person's own key, checked as any client's. The content security policy lets a page load and reach nothing but
/// this node.
struct WebRoutes: Sendable {
    let assets: Result<WebAssets, WebError>

    static let policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "manifest-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'"

    func add(to router: Router<GatewayContext>) {
        router.get("/") { request, _ in try serve("index.html", request) }
        router.get("/admin") { request, _ in try serve("admin.html", request) }
        router.get("/assets/{name}") { request, context in
            try serve(context.parameters.get("name") ?? "", request)
        }
    }

    private func serve(_ name: String, _ request: Request) throws(APIError) -> Response {
        let assets: WebAssets
        switch self.assets {
        case .success(let loaded): assets = loaded
        case .failure(let error): throw APIError(.serviceUnavailable, "web_unavailable", error.message)
        }
        // Page names are the pages' own: nothing but a plain file name reaches the lookup.
        guard let asset = assets.asset(name), !name.hasPrefix(".") else {
            throw APIError(.notFound, "not_found", "no page or file '\(name.prefix(100))' here; the pages are / and /admin")
        }
        var headers: HTTPFields = [
            .contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache",
            .contentSecurityPolicy: Self.policy, .xContentTypeOptions: "nosniff",
        ]
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        // Where the browser is goes to the node only when a person asks for a delivery or a search near them.
        headers[HTTPField.Name("Permissions-Policy")!] = "geolocation=(self), camera=(), microphone=(), payment=()"
        if request.headers[.ifNoneMatch].map({ $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == asset.etag } }) == true {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
