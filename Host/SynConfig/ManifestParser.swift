/// Validates a parsed manifest document into an `AppManifest`.
enum ManifestParser {
    static func parse(_ root: TableReader) throws(ConfigError) -> AppManifest {
        try root.allowOnly(["app", "sandbox", "capabilities", "methods"])

        let app = try root.table("app", keys: ["id", "name", "version", "abi", "library", "sha256", "config", "health"])
        guard let app else {
            throw ConfigError(code: .missingKey, file: root.file, key: "app",
                              message: "missing [app] table; a manifest needs [app] id, name, version, abi and library")
        }
        let id = try app.require(app.string("id"), "id", "the app id, e.g. \"hello\"")
        guard NameRules.isAppID(id) else {
            throw app.error(.badValue, "id", "app.id must match ^[a-z][a-z0-9_-]{0,62}$ (start with a lowercase letter; then lowercase letters, digits, '_' and '-', at most 63), got \"\(id)\"")
        }
        let name = try app.require(app.string("name"), "name", "a display name, e.g. \"Hello\"")
        guard !name.allSatisfy(\.isWhitespace), name.count <= 200, !NameRules.hasControlCharacter(name) else {
            throw app.error(.badValue, "name", "app.name must be 1 to 200 characters, not blank, without control characters")
        }
        let version = try app.require(app.string("version"), "version", "e.g. \"1.0.0\"")
        guard !version.allSatisfy(\.isWhitespace), version.count <= 64, !NameRules.hasControlCharacter(version) else {
            throw app.error(.badValue, "version", "app.version must be 1 to 64 characters, not blank, without control characters")
        }
        let abi = try app.require(app.integer("abi"), "abi", "the PluginABI major version, 1")
        guard abi == AppManifest.supportedABI else {
            throw app.error(.badValue, "abi", "app.abi must be \(AppManifest.supportedABI): this host supports PluginABI major \(AppManifest.supportedABI), got \(abi)")
        }
        let library = try app.require(app.string("library"), "library", "the app's shared library file, e.g. \"libhello.so\"")
        if let problem = NameRules.libraryPathProblem(library) {
            throw app.error(.badValue, "library", "app.library \(problem), got \"\(library)\"")
        }
        let sha256 = try app.string("sha256")
        if let sha256, !NameRules.isSHA256Hex(sha256) {
            throw app.error(.badValue, "sha256", "app.sha256 must be 64 lowercase hex digits (as printed by sha256sum), got \"\(sha256)\"")
        }
        let config = try app.string("config") ?? ""
        guard config.utf8.count <= 65_536 else {
            throw app.error(.badValue, "config", "app.config may be at most 64 KiB, got \(config.utf8.count) bytes")
        }

        let health = try app.string("health")
        if let health, !NameRules.isMethodName(health) {
            throw app.error(.badValue, "health", "app.health names the method the node calls to check a new version, matching ^[a-z][a-z0-9_.-]{0,127}$, got \"\(health)\"")
        }

        var manifest = AppManifest(id: id, name: name, version: version, abi: abi, library: library, sha256: sha256,
                                   config: config)
        manifest.health = health
        manifest.lines = AppManifest.SourceLines(file: root.file, library: root.locator.line(of: ["app", "library"]),
                                                 sha256: root.locator.line(of: ["app", "sha256"]))

        if let sandbox = try root.table("sandbox", keys: ["profile"]), let profile = try sandbox.string("profile") {
            guard NameRules.isProfileName(profile) else {
                throw sandbox.error(.badValue, "profile", "sandbox.profile must match ^[a-z0-9][a-z0-9_-]{0,62}$, got \"\(profile)\"")
            }
            manifest.profile = profile
        }
        if let capabilities = try root.table("capabilities", keys: [
            "identity", "storage", "net", "timers", "events", "messages", "calls",
        ]) {
            manifest.capabilities = try parseCapabilities(capabilities)
        }
        if let methods = try root.table("methods", keys: ["public"]), let names = try methods.strings("public") {
            for (index, method) in names.enumerated() where !NameRules.isMethodName(method) {
                throw methods.error(.badValue, "public", element: index, "methods.public entries must match ^[a-z][a-z0-9_.-]{0,127}$, got \"\(method)\"")
            }
            try methods.requireUnique(names, "public")
            manifest.publicMethods = names
        }
        return manifest
    }

    static func parseCapabilities(_ table: TableReader) throws(ConfigError) -> AppManifest.Capabilities {
        var caps = AppManifest.Capabilities()
        caps.timers = try table.bool("timers") ?? false
        if let identity = try table.table("identity", keys: ["sign"]) {
            caps.identitySign = try identity.bool("sign") ?? false
        }
        if let storage = try table.table("storage", keys: ["kv", "sql"]) {
            caps.storageKV = try storage.bool("kv") ?? false
            caps.storageSQL = try storage.bool("sql") ?? false
        }
        if let net = try table.table("net", keys: ["peers", "fetch"]) {
            if let ids = try? net.strings("peers", maxCount: 1000) {
                for (index, id) in ids.enumerated() where !NameRules.isNodeID(id) {
                    throw net.error(.badValue, "peers", element: index,
                                    "net.peers entries are node ids (43 base64url characters, as `syneroym peers list` shows them), got \"\(id)\"")
                }
                try net.requireUnique(ids, "peers")
                caps.netPeers = true
                caps.netPeerIDs = ids
            } else {
                caps.netPeers = try net.bool("peers") ?? false
            }
            let urls = try net.strings("fetch") ?? []
            for (index, url) in urls.enumerated() {
                if let problem = NameRules.fetchURLProblem(url) {
                    throw net.error(.badValue, "fetch", element: index, "capabilities.net.fetch entry \"\(url)\": \(problem)")
                }
            }
            try net.requireUnique(urls, "fetch")
            caps.netFetch = urls
        }
        if let events = try table.table("events", keys: ["publish", "subscribe"]) {
            caps.eventsPublish = try patterns(events, "publish")
            caps.eventsSubscribe = try patterns(events, "subscribe")
        }
        if let messages = try table.table("messages", keys: ["publish", "subscribe"]) {
            caps.messagesPublish = try patterns(messages, "publish")
            caps.messagesSubscribe = try patterns(messages, "subscribe")
        }
        let calls = try table.strings("calls", maxCount: 1000) ?? []
        for (index, entry) in calls.enumerated() {
            if let problem = Policy.callPatternProblem(entry) {
                throw table.error(.badValue, "calls", element: index, "calls entry \"\(entry)\": \(problem)")
            }
        }
        try table.requireUnique(calls, "calls")
        caps.calls = calls
        return caps
    }

    /// A list of topic patterns such as `homeservices.order.*`.
    private static func patterns(_ table: TableReader, _ key: String) throws(ConfigError) -> [String] {
        let items = try table.strings(key) ?? []
        for (index, pattern) in items.enumerated() {
            if let problem = NameRules.topicPatternProblem(pattern) {
                throw table.error(.badValue, key, element: index, "\(table.dotted(key)) pattern \"\(pattern)\": \(problem); expected dot-separated segments of [a-z0-9_-]+, the last may be '*'")
            }
        }
        try table.requireUnique(items, key)
        return items
    }
}
