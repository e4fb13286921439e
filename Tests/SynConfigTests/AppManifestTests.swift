import SynConfig
import SynTestSupport
import Testing

/// Parsing and refusing app manifests.
@Suite struct AppManifestTests {
    static let good = """
        [app]
        id = "hello"
        name = "Hello"
        version = "1.0.0"
        abi = 1
        library = "libhello.so"
        sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        config = "greeting=hi"

        [sandbox]
        profile = "foundation"

        [capabilities]
        identity.sign = true
        storage.kv = true
        storage.sql = true
        timers = true
        net.peers = true
        net.fetch = ["https://api.example.org", "https://example.com:8443/v1/?q=1"]
        events.publish = ["homeservices.*"]
        events.subscribe = ["homeservices.order.*", "x"]
        messages.publish = ["presence.*"]
        messages.subscribe = ["presence.*"]

        [methods]
        public = ["hello", "echo", "v2.get-item"]
        """

    /// A manifest with just the required keys, plus `extra` lines.
    static func minimal(_ extra: String = "") -> String {
        "[app]\nid = \"hello\"\nname = \"Hello\"\nversion = \"1.0.0\"\nabi = 1\nlibrary = \"libhello.so\"\n" + extra
    }

    func refuse(_ text: String) -> ConfigError? {
        configError { () throws(ConfigError) in try AppManifest.parse(text, file: "m.toml") }
    }

    @Test func goodManifest() throws {
        let manifest = try AppManifest.parse(Self.good, file: "m.toml")
        #expect(manifest.id == "hello")
        #expect(manifest.name == "Hello")
        #expect(manifest.version == "1.0.0")
        #expect(manifest.abi == 1)
        #expect(manifest.library == "libhello.so")
        #expect(manifest.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(manifest.config == "greeting=hi")
        #expect(manifest.profile == "foundation")
        #expect(manifest.publicMethods == ["hello", "echo", "v2.get-item"])
        #expect(manifest.path == nil)
        var caps = AppManifest.Capabilities()
        caps.identitySign = true
        caps.storageKV = true
        caps.storageSQL = true
        caps.timers = true
        caps.netPeers = true
        caps.netFetch = ["https://api.example.org", "https://example.com:8443/v1/?q=1"]
        caps.eventsPublish = ["homeservices.*"]
        caps.eventsSubscribe = ["homeservices.order.*", "x"]
        caps.messagesPublish = ["presence.*"]
        caps.messagesSubscribe = ["presence.*"]
        #expect(manifest.capabilities == caps)
    }

    @Test func minimalManifestDefaults() throws {
        let manifest = try AppManifest.parse(Self.minimal(), file: "m.toml")
        #expect(manifest == AppManifest(id: "hello", name: "Hello", version: "1.0.0", library: "libhello.so"))
        #expect(manifest.profile == "default")
        #expect(manifest.config == "")
        #expect(manifest.sha256 == nil)
        #expect(manifest.capabilities == AppManifest.Capabilities())
        #expect(manifest.publicMethods.isEmpty)
    }

    @Test func capabilitiesAsSubTables() throws {
        let text = Self.minimal("[capabilities.storage]\nkv = true\n[capabilities.net]\nfetch = [\"https://a.example\"]\n")
        let manifest = try AppManifest.parse(text, file: "m.toml")
        #expect(manifest.capabilities.storageKV)
        #expect(!manifest.capabilities.storageSQL)
        #expect(manifest.capabilities.netFetch == ["https://a.example"])
    }

    @Test func abiTwo() {
        let error = refuse(Self.minimal().replacingABI(with: "2"))
        #expect(error?.code == .badValue)
        #expect(error?.line == 5)
        #expect(error?.key == "app.abi")
        #expect(error?.message.contains("this host supports PluginABI major 1") == true)
    }

    @Test func abiAsString() {
        let error = refuse(Self.minimal().replacingABI(with: "\"1\""))
        #expect(error?.code == .badType)
        #expect(error?.line == 5)
    }

    @Test(arguments: ["Hello", "1hello", "", "hello world", "héllo", String(repeating: "a", count: 64)])
    func badID(id: String) {
        let error = refuse("[app]\nid = \"\(id)\"\nname = \"Hello\"\nversion = \"1\"\nabi = 1\nlibrary = \"l.so\"\n")
        #expect(error?.code == .badValue)
        #expect(error?.key == "app.id")
        #expect(error?.line == 2)
    }

    @Test func missingName() {
        let error = refuse("\n[app]\nid = \"hello\"\nversion = \"1.0.0\"\nabi = 1\nlibrary = \"libhello.so\"\n")
        #expect(error?.code == .missingKey)
        #expect(error?.key == "app.name")
        #expect(error?.line == 2)
        #expect(error?.description.hasPrefix("m.toml:2: key 'app.name': [app] must set name") == true)
    }

    @Test func missingAppTable() {
        let error = refuse("[methods]\npublic = [\"a\"]\n")
        #expect(error?.code == .missingKey)
        #expect(error?.key == "app")
    }

    @Test(arguments: ["", "   ", String(repeating: "n", count: 201), "a\\u0007b", "a\\nb"])
    func badName(name: String) {
        let error = refuse("[app]\nid = \"h\"\nname = \"\(name)\"\nversion = \"1\"\nabi = 1\nlibrary = \"l.so\"\n")
        #expect(error?.code == .badValue)
        #expect(error?.key == "app.name")
        #expect(error?.line == 3)
    }

    @Test func longestNameIsAccepted() throws {
        let name = String(repeating: "n", count: 200)
        let text = "[app]\nid = \"h\"\nname = \"\(name)\"\nversion = \"1\"\nabi = 1\nlibrary = \"l.so\"\n"
        #expect(try AppManifest.parse(text, file: "m.toml").name == name)
    }

    @Test(arguments: ["homeservices..x", "a.*.b", "Home.x", ".a", "a.", "", "a.b*", "a b"])
    func badPattern(pattern: String) {
        let text = Self.minimal("\n[capabilities]\nevents.subscribe = [\n  \"ok.*\",\n  \"\(pattern)\",\n]\n")
        let error = refuse(text)
        #expect(error?.code == .badValue)
        #expect(error?.key == "capabilities.events.subscribe")
        #expect(error?.line == 11)
    }

    @Test(arguments: [
        "http://api.example.org", "ftp://x.example", "https://", "https://user:pw@api.example.org",
        "https://api.example.org/a b", "https://api.example.org:0", "https://api.example.org:99999",
        "https://api.example.org/#frag", "api.example.org", "https://:443/x",
    ])
    func badFetchURL(url: String) {
        let error = refuse(Self.minimal("[capabilities]\nnet.fetch = [\"\(url)\"]\n"))
        #expect(error?.code == .badValue)
        #expect(error?.key == "capabilities.net.fetch")
        #expect(error?.line == 8)
    }

    @Test func httpFetchMessage() {
        let error = refuse(Self.minimal("[capabilities]\nnet.fetch = [\"http://api.example.org\"]\n"))
        #expect(error?.message.contains("use https://") == true)
    }

    @Test(arguments: ["https://api.example.org", "https://API.Example.org:443/path?x=1", "https://[::1]:8443/"])
    func goodFetchURL(url: String) throws {
        let manifest = try AppManifest.parse(Self.minimal("[capabilities]\nnet.fetch = [\"\(url)\"]\n"), file: "m.toml")
        #expect(manifest.capabilities.netFetch == [url])
    }

    @Test func unknownCapability() {
        let error = refuse(Self.minimal("[capabilities]\nstorage.kv = true\nstorage.blob = true\n"))
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "capabilities.storage.blob")
        #expect(error?.line == 9)
        #expect(error?.message.contains("valid keys: kv, sql") == true)
    }

    @Test func unknownTopLevelCapability() {
        let error = refuse(Self.minimal("[capabilities]\ngps = true\n"))
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "capabilities.gps")
        #expect(error?.line == 8)
    }

    @Test func capabilityWrongType() {
        let flag = refuse(Self.minimal("[capabilities]\nstorage = true\n"))
        #expect(flag?.code == .badType)
        #expect(flag?.key == "capabilities.storage")
        #expect(flag?.line == 8)

        let sign = refuse(Self.minimal("[capabilities]\nidentity = { sign = \"yes\" }\n"))
        #expect(sign?.code == .badType)
        #expect(sign?.key == "capabilities.identity.sign")
        #expect(sign?.line == 8)
    }

    @Test func unknownAppKey() {
        let error = refuse(Self.minimal("entry = \"main\"\n"))
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "app.entry")
        #expect(error?.line == 7)
    }

    @Test(arguments: ["../libhello.so", "/usr/lib/libhello.so", "", "lib/../x.so", "lib//x.so", "lib/"])
    func badLibrary(library: String) {
        let error = refuse("[app]\nid = \"h\"\nname = \"H\"\nversion = \"1\"\nabi = 1\nlibrary = \"\(library)\"\n")
        #expect(error?.code == .badValue)
        #expect(error?.key == "app.library")
        #expect(error?.line == 6)
    }

    @Test func libraryInSubdirectoryIsAccepted() throws {
        let text = "[app]\nid = \"h\"\nname = \"H\"\nversion = \"1\"\nabi = 1\nlibrary = \"lib/x86_64/libh.so\"\n"
        #expect(try AppManifest.parse(text, file: "m.toml").library == "lib/x86_64/libh.so")
    }

    @Test(arguments: ["BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "abc", "zz"])
    func badSHA256(value: String) {
        let error = refuse(Self.minimal("sha256 = \"\(value)\"\n"))
        #expect(error?.code == .badValue)
        #expect(error?.key == "app.sha256")
        #expect(error?.line == 7)
    }

    @Test func badProfileName() {
        let error = refuse(Self.minimal("[sandbox]\nprofile = \"Foundation\"\n"))
        #expect(error?.code == .badValue)
        #expect(error?.key == "sandbox.profile")
        #expect(error?.line == 8)
    }

    @Test(arguments: ["Hello", "1a", "a b", "", "a/b"])
    func badMethod(method: String) {
        let error = refuse(Self.minimal("[methods]\npublic = [\"ok\", \"\(method)\"]\n"))
        #expect(error?.code == .badValue)
        #expect(error?.key == "methods.public")
        #expect(error?.line == 8)
    }

    @Test func duplicateMethod() {
        let error = refuse(Self.minimal("[methods]\npublic = [\"a\", \"a\"]\n"))
        #expect(error?.code == .badValue)
        #expect(error?.message.contains("more than once") == true)
    }

    @Test func unknownTable() {
        let error = refuse(Self.minimal("[permissions]\nall = true\n"))
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "permissions")
        #expect(error?.line == 7)
        #expect(error?.message.contains("[capabilities]") == true)
    }

    @Test func syntaxError() {
        let error = refuse("[app]\nid = \"hello\"\nname = Hello\n")
        #expect(error?.code == .syntax)
        #expect(error?.line == 3)
        #expect(error?.key == "app.name")
    }

    @Test func duplicateKeyIsSyntaxError() {
        let error = refuse("[app]\nid = \"hello\"\nid = \"again\"\n")
        #expect(error?.code == .syntax)
        #expect(error?.line == 3)
    }

    @Test func loadSetsPath() throws {
        let dir = TempDir()
        let path = dir.write("hello.toml", Self.good)
        let manifest = try AppManifest.load(path: path)
        #expect(manifest.path == path)
        var parsed = try AppManifest.parse(Self.good, file: "other")
        parsed.path = path
        #expect(manifest == parsed)
    }
}

extension String {
    /// The minimal manifest with its `abi = 1` line replaced.
    fileprivate func replacingABI(with value: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0 == "abi = 1" ? "abi = \(value)" : String($0) }
            .joined(separator: "\n")
    }
}
