import SynConfig
import SynSodium
import SynTestSupport
import Testing

/// Finding an app's library next to its manifest or in search directories, and checking its SHA-256.
@Suite struct ResolveLibraryTests {
    /// sha256("abc").
    static let abcDigest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    func manifest(in dir: TempDir, sha256: String? = nil, library: String = "libhello.so") throws -> AppManifest {
        var text = "[app]\nid = \"hello\"\nname = \"Hello\"\nversion = \"1.0.0\"\nabi = 1\nlibrary = \"\(library)\"\n"
        if let sha256 { text += "sha256 = \"\(sha256)\"\n" }
        return try AppManifest.load(path: dir.write("hello.toml", text))
    }

    func resolve(_ manifest: AppManifest, _ directories: [String]) -> ConfigError? {
        configError { () throws(ConfigError) in try manifest.resolveLibrary(searchDirectories: directories) }
    }

    @Test func foundNextToManifest() throws {
        let dir = TempDir()
        let library = dir.write("libhello.so", "abc")
        let other = TempDir()
        other.write("libhello.so", "other")
        let found = try manifest(in: dir).resolveLibrary(searchDirectories: [other.path])
        #expect(found == library)
    }

    @Test func foundInSubdirectoryNextToManifest() throws {
        let dir = TempDir()
        dir.directory("lib")
        let library = dir.write("lib/libhello.so", "abc")
        #expect(try manifest(in: dir, library: "lib/libhello.so").resolveLibrary(searchDirectories: []) == library)
    }

    @Test func foundInSearchDirectory() throws {
        let dir = TempDir()
        let first = TempDir()
        let second = TempDir()
        let library = second.write("libhello.so", "abc")
        let found = try manifest(in: dir).resolveLibrary(searchDirectories: [first.path, second.path + "/"])
        #expect(found == library)
    }

    @Test func directoryIsNotALibrary() throws {
        let dir = TempDir()
        dir.directory("libhello.so")
        let error = resolve(try manifest(in: dir), [])
        #expect(error?.code == .libraryNotFound)
    }

    @Test func notFoundListsEveryPlace() throws {
        let dir = TempDir()
        let first = TempDir()
        let second = TempDir()
        let manifest = try manifest(in: dir)
        let error = resolve(manifest, [first.path, second.path])
        #expect(error?.code == .libraryNotFound)
        #expect(error?.file == dir.path + "/hello.toml")
        #expect(error?.key == "app.library")
        #expect(error?.line == 6)
        let message = error?.message ?? ""
        #expect(message.contains(dir.path + "/libhello.so"))
        #expect(message.contains(first.path + "/libhello.so"))
        #expect(message.contains(second.path + "/libhello.so"))
    }

    @Test func parsedManifestSearchesOnlyDirectories() throws {
        let text = "[app]\nid = \"hello\"\nname = \"Hello\"\nversion = \"1.0.0\"\nabi = 1\nlibrary = \"libhello.so\"\n"
        let manifest = try AppManifest.parse(text, file: "inline.toml")
        let none = resolve(manifest, [])
        #expect(none?.code == .libraryNotFound)
        #expect(none?.file == "inline.toml")
        #expect(none?.message.contains("nowhere") == true)

        let dir = TempDir()
        let library = dir.write("libhello.so", "abc")
        #expect(try manifest.resolveLibrary(searchDirectories: [dir.path]) == library)
    }

    @Test func libraryEditedAfterParsingIsStillChecked() throws {
        let dir = TempDir()
        var manifest = try manifest(in: dir)
        manifest.library = "../escape.so"
        let error = resolve(manifest, [])
        #expect(error?.code == .badValue)
        #expect(error?.key == "app.library")
    }

    @Test func checksumMatches() throws {
        let dir = TempDir()
        let library = dir.write("libhello.so", "abc")
        #expect(try manifest(in: dir, sha256: Self.abcDigest).resolveLibrary(searchDirectories: []) == library)
    }

    @Test func checksumMismatch() throws {
        let dir = TempDir()
        dir.write("libhello.so", "abd")
        let wrong = String(repeating: "0", count: 64)
        let error = resolve(try manifest(in: dir, sha256: wrong), [])
        #expect(error?.code == .checksumMismatch)
        #expect(error?.key == "app.sha256")
        #expect(error?.line == 7)
        let actual = try FileDigest.sha256Hex(path: dir.path + "/libhello.so")
        #expect(error?.message.contains("expected sha256 \(wrong)") == true)
        #expect(error?.message.contains("actual \(actual)") == true)
    }
}
