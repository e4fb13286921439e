/// An app's manifest: identity, the library to load, its sandbox profile and the capabilities it requests.
public struct AppManifest: Sendable, Equatable {
    public var id: String
    public var name: String
    public var version: String
    /// PluginABI major version; this host supports 1.
    public var abi: Int
    /// The shared library, relative to the manifest's directory (or a search directory).
    public var library: String
    /// Expected SHA-256 of the library, lowercase hex (64 characters).
    public var sha256: String?
    /// Opaque string passed to the app's init; "" if absent.
    public var config: String
    /// Name of the sandbox profile the app asks for (default "default").
    public var profile: String
    public var capabilities: Capabilities
    /// A method the node calls (as itself, with an empty body) after an upgrade starts the app; a 2xx answer means
    /// the new version is healthy. Without it, a version is healthy once its workers have run `init`.
    public var health: String?
    /// Methods callable without an authenticated caller.
    public var publicMethods: [String]
    /// The manifest file path; nil when parsed from text.
    public var path: String?
    /// Source lines of keys that later checks (resolveLibrary) report on.
    var lines = SourceLines()

    /// The PluginABI major version this host supports.
    public static let supportedABI = 1

    public init(id: String, name: String, version: String, abi: Int = AppManifest.supportedABI, library: String,
                sha256: String? = nil, config: String = "", profile: String = "default",
                capabilities: Capabilities = Capabilities(), publicMethods: [String] = [], path: String? = nil) {
        self.id = id
        self.name = name
        self.version = version
        self.abi = abi
        self.library = library
        self.sha256 = sha256
        self.config = config
        self.profile = profile
        self.capabilities = capabilities
        self.publicMethods = publicMethods
        self.path = path
    }

    /// Reads and validates the manifest at `path`.
    public static func load(path: String) throws(ConfigError) -> AppManifest {
        var manifest = try parse(TextFile.read(path: path), file: path)
        manifest.path = path
        return manifest
    }

    /// Validates manifest TOML; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> AppManifest {
        try ManifestParser.parse(TableReader.root(text: text, file: file))
    }
}

extension AppManifest {
    /// Where `library` and `sha256` were written, so that later errors can point there.
    /// Always equal, so two manifests with the same content compare equal however they were formatted.
    struct SourceLines: Sendable, Equatable {
        var file: String?
        var library: Int?
        var sha256: Int?

        static func == (lhs: SourceLines, rhs: SourceLines) -> Bool { true }
    }
}
