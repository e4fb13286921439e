import Foundation
import SynSodium
#if canImport(Glibc)
import Glibc
#endif

/// The node's web pages: the HTML, CSS and JavaScript committed in `Host/SynWeb/Assets` (no build step, no third
/// party host), copied by the build into `syneroym_SynWeb.resources/Assets` beside the binary, read once and served
/// from memory with a strong ETag.
public final class WebAssets: Sendable {
    /// One file, ready to serve.
    public struct Asset: Sendable {
        public let bytes: [UInt8]
        public let contentType: String
        /// A strong validator: the first 16 bytes of the file's BLAKE2b, quoted.
        public let etag: String
    }

    /// The most a directory of assets may hold (they are kept in memory).
    static let maxTotalBytes = 4 << 20
    static let types = ["html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
                        "svg": "image/svg+xml", "png": "image/png", "json": "application/json", "txt": "text/plain; charset=utf-8",
                        "webmanifest": "application/manifest+json"]

    public let directory: String
    private let files: [String: Asset]

    /// Reads every file directly in `directory` whose name is plain (letters, digits, `.`, `-`, `_`) and whose type
    /// is known.
    public init(directory: String) throws(WebError) {
        self.directory = directory
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
            throw WebError(.missing, "the node's web pages are not at \(directory): \(error.localizedDescription)")
        }
        var files: [String: Asset] = [:]
        var total = 0
        for name in names {
            guard name.utf8.allSatisfy({ $0 < 0x80 && (isalnum(Int32($0)) != 0 || $0 == 0x2E || $0 == 0x2D || $0 == 0x5F) }),
                  !name.hasPrefix("."), let type = Self.types[(name as NSString).pathExtension.lowercased()] else { continue }
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                throw WebError(.missing, "cannot read \(directory)/\(name)")
            }
            total += data.count
            guard total <= Self.maxTotalBytes else { throw WebError(.tooLarge, "\(directory) holds more than \(Self.maxTotalBytes >> 20) MiB of pages") }
            let bytes = Array(data)
            let hash = Blake2bStream()
            hash.update(bytes)
            files[name] = Asset(bytes: bytes, contentType: type, etag: "\"" + Hex.encode(Array(hash.finish().prefix(16))) + "\"")
        }
        self.files = files
    }

    /// The file named `name`, if there is one.
    public func asset(_ name: String) -> Asset? { files[name] }

    /// Every file's name.
    public var names: [String] { files.keys.sorted() }

    /// The assets beside the running binary (`<dir of the executable>/syneroym_SynWeb.resources/Assets`), or why
    /// they cannot be served.
    public static let bundled: Result<WebAssets, WebError> = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let directory = (executable as NSString).deletingLastPathComponent + "/Syneroym_SynWeb.resources/Assets"
        do throws(WebError) { return .success(try WebAssets(directory: directory)) } catch {
            return .failure(WebError(error.code, error.message + "; install the web pages beside the binary: cp -r .build/release/Syneroym_SynWeb.resources "
                                      + (executable as NSString).deletingLastPathComponent + "/"))
        }
    }()
}

/// Why the web pages cannot be served.
public struct WebError: Error, Sendable {
    public enum Code: String, Sendable { case missing, tooLarge }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
