import Foundation
import Testing

/// The pages the gateway serves to browsers (`/`, `/admin`, `/assets/`): static, validated, and under a policy that
/// lets them load and reach nothing but this node.
@Suite struct WebPagesTests {
    @Test func pagesAreServedWithTheirPolicyAndValidators() async throws {
        try await LiveNode.with { node in
            for (path, type) in [("/", "text/html"), ("/admin", "text/html"), ("/assets/sign.js", "text/javascript"), ("/assets/style.css", "text/css")] {
                let page = try await node.request("GET", path)
                #expect(page.status == 200, "\(path)")
                #expect(page.headers["content-type"]?.hasPrefix(type) == true, "\(path)")
                #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
                #expect(page.headers["content-security-policy"]?.contains("connect-src 'self'") == true)
                #expect(page.headers["x-content-type-options"] == "nosniff")
                let etag = try #require(page.headers["etag"])
                let again = try await node.request("GET", path, headers: [("If-None-Match", etag)])
                #expect(again.status == 304 && again.body.isEmpty, "\(path)")
            }
            // Nothing but the pages' own files: no paths, no hidden files, no guessing.
            for path in ["/assets/..%2Fnode.toml", "/assets/.hidden", "/assets/nothing.js", "/assets/"] {
                let missing = try await node.request("GET", path)
                #expect(missing.status == 404, "\(path): \(missing.status)")
            }
        }
    }

    /// The first page and everything it loads stay under 100 KB, and every file it names is this node's.
    @Test func theFirstPageIsSmallAndLoadsNothingFromElsewhere() async throws {
        try await LiveNode.with { node in
            var pending = ["/"], seen: Set<String> = [], total = 0
            while let path = pending.popLast() {
                guard seen.insert(path).inserted else { continue }
                let reply = try await node.request("GET", path)
                #expect(reply.status == 200, "\(path)")
                total += reply.body.count
                let text = reply.text
                // HTML src/href, and JavaScript module imports.
                let patterns = [#"(?:src|href)="([^"]+)""#, #"from "(\./[^"]+)""#, #"import "(\./[^"]+)""#]
                for pattern in patterns {
                    let regex = try NSRegularExpression(pattern: pattern)
                    for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                        guard let range = Range(match.range(at: 1), in: text) else { continue }
                        let reference = String(text[range])
                        // A page's own views (`#/...`) are not files, nor is an inline `data:` icon.
                        guard !reference.hasPrefix("#"), !reference.hasPrefix("data:") else { continue }
                        #expect(!reference.contains("//"), "\(path) names \(reference), not a file of this node")
                        pending.append(reference.hasPrefix("./") ? "/assets/" + reference.dropFirst(2) : reference)
                    }
                }
            }
            #expect(seen.count >= 5)
            #expect(total < 100_000, "the first page is \(total) bytes")
        }
    }
}
