/// Where a node finds its files: the data directory, manifests, profiles, built app libraries and the worker.
public struct NodeLayout: Sendable {
    public var data: String
    public var manifests: String
    public var profiles: String
    /// Directories searched for app libraries after each manifest's own directory.
    public var libraryDirectories: [String]
    /// The `synapp-worker` executable.
    public var worker: String

    public init(data: String, manifests: String, profiles: String, libraryDirectories: [String], worker: String) {
        self.data = data
        self.manifests = manifests
        self.profiles = profiles
        self.libraryDirectories = libraryDirectories
        self.worker = worker
    }

    public var nodeToml: String { data + "/node.toml" }
}
