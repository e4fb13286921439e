import Foundation
import SynTestSupport
import SynWeb
import Testing

/// The node's pages as files: what is served from a directory, and what is not.
@Suite struct WebAssetsTests {
    @Test func theBundledPagesLoadWithTypesAndValidators() throws {
        let assets = try WebAssets.bundled.get()
        for name in ["index.html", "admin.html", "style.css", "sign.js", "identity.js", "admin.js", "app.js"] {
            let asset = try #require(assets.asset(name), "\(name)")
            #expect(!asset.bytes.isEmpty && asset.etag.hasPrefix("\"") && asset.etag.count == 34)
        }
        #expect(assets.asset("sign.js")?.contentType == "text/javascript; charset=utf-8")
        #expect(assets.asset("index.html")?.contentType == "text/html; charset=utf-8")
    }

    @Test func onlyPlainNamesOfKnownTypesAreServed() throws {
        let dir = TestSupport.scratch + "/web-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["page.html", ".hidden.js", "notes.md", "odd name.css", "ok-1_2.css"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        #expect(try WebAssets(directory: dir).names == ["ok-1_2.css", "page.html"])
        // Kept in memory, so bounded.
        try Data(count: 5 << 20).write(to: URL(fileURLWithPath: dir + "/big.js"))
        do throws(WebError) { _ = try WebAssets(directory: dir); Issue.record("5 MiB of pages were taken") } catch {
            #expect(error.code == .tooLarge)
        }
        do throws(WebError) { _ = try WebAssets(directory: dir + "/missing"); Issue.record("a missing directory was taken") } catch {
            #expect(error.code == .missing && error.message.contains(dir + "/missing"))
        }
    }
}
