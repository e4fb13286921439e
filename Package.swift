// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Syneroym",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "syneroym", targets: ["SynNode"]),
        .executable(name: "synapp-worker", targets: ["SynWorker"]),
        // Swift test apps, loaded by the tests into real sandboxed workers.
        .library(name: "SwiftEchoApp", type: .dynamic, targets: ["SwiftEchoApp"]),
        .library(name: "SwiftFatalApp", type: .dynamic, targets: ["SwiftFatalApp"]),
        .library(name: "SwiftFoundationApp", type: .dynamic, targets: ["SwiftFoundationApp"]),
        .library(name: "KitTestApp", type: .dynamic, targets: ["KitTestApp"]),
        // The SynApps.
        .library(name: "HomeServices", type: .dynamic, targets: ["HomeServices"]),
        .library(name: "FoodMesh", type: .dynamic, targets: ["FoodMesh"]),
        .library(name: "Messaging", type: .dynamic, targets: ["Messaging"]),
        // The Swift SDK for SynApps.
        .library(name: "SynAppKit", targets: ["SynAppKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        // Already in the graph through hummingbird; named because the gateway imports NIOCore, HTTPTypes
        // and NIOHTTPTypes.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.20.0"),
        // Already in the graph through hummingbird: Messaging's content addresses (SHA-256 of an attachment) in
        // the app itself, whose sandbox has no libsodium.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    ],
    targets: [
        // The C ABI: the only contract between host and apps.
        .target(name: "PluginABI", path: "PluginABI"),

        // One wrapper module per C library.
        .systemLibrary(name: "CSynSQLite", path: "Host/CSynSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSynSodium", path: "Host/CSynSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CSynSeccomp", path: "Host/CSynSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CSynCap", path: "Host/CSynCap", pkgConfig: "libcap",
                       providers: [.apt(["libcap-dev"])]),
        .systemLibrary(name: "CSynTLS", path: "Host/CSynTLS", pkgConfig: "gnutls",
                       providers: [.apt(["libgnutls28-dev"])]),
        // Kernel interfaces Swift cannot import directly (unshare, prctl, pivot_root, fork, SIGSYS).
        .target(name: "CSynSys", path: "Host/CSynSys"),

        // Node and app identity over libsodium: ed25519 keys, key files, domain-separated signatures.
        .target(name: "SynSodium", dependencies: ["CSynSodium", "SynSystem"], path: "Host/SynSodium"),
        // SQLite connections, statements, the app-database policy (authorizer) and quotas.
        .target(name: "SynSQLite", dependencies: ["CSynSQLite", "SynSystem"], path: "Host/SynSQLite"),
        // The OS primitives the host's and the worker's threads share: clocks, threads, a lock with a condition.
        .target(name: "SynSystem", dependencies: ["CSynSys"], path: "Host/SynSystem"),
        // Text encodings of the worker and apps: JSON validation and quoting, standard base64 (the host uses libsodium's).
        .target(name: "SynText", path: "Host/SynText"),
        // The app's own database, run inside its worker: KV, SQL with JSON parameters and rows, one transaction
        // per call, and the outbox of events and timers.
        .target(name: "SynAppStore", dependencies: ["SynSQLite", "SynSystem", "SynText", "SynWire"], path: "Host/SynAppStore"),
        // Frames on the host<->worker link, shared by both sides.
        .target(name: "SynWire", dependencies: ["PluginABI"], path: "Host/SynWire"),
        // Sandbox profiles and app manifests (TOML).
        .target(name: "SynConfig", dependencies: [
            "SynWire", "SynSodium", "SynSystem", "CSynSeccomp", "CSynSodium", .product(name: "TOMLKit", package: "TOMLKit"),
        ], path: "Host/SynConfig"),
        // Host side: spawning, cgroups, the worker link, death classification, supervision.
        .target(name: "SynSandbox", dependencies: ["SynWire", "SynConfig", "SynAppStore", "SynSystem", "CSynSys", "CSynSeccomp"],
                path: "Host/SynSandbox"),
        // The capability broker: policy checks, storage, identity, per-request transactions.
        .target(name: "SynBroker", dependencies: ["SynSandbox", "SynSystem", "SynConfig", "SynWire", "SynSQLite", "SynSodium", "SynText",
                                                "SynAppStore", "PluginABI"],
                path: "Host/SynBroker"),
        // TLS 1.3 between nodes over GnuTLS, authenticated by their ed25519 keys as raw public keys (RFC 7250).
        .target(name: "SynTLS", dependencies: ["CSynTLS", "SynSodium"], path: "Host/SynTLS"),
        // The node-link protocol inside TLS: frames, their limits, and the decoder every peer's bytes go through.
        .target(name: "SynLink", dependencies: [
            "SynWire", "SynConfig", "SynTLS", .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Host/SynLink"),
        // The node's links with other nodes: peers, the listener and dialers, witnesses of peers' audit heads.
        .target(name: "SynFederation", dependencies: [
            "SynLink", "SynTLS", "SynBroker", "SynConfig", "SynSQLite", "SynSodium", "SynSystem",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Host/SynFederation"),
        // RFC 9421 HTTP message signatures (ed25519), RFC 9530 Content-Digest, and the replay cache.
        .target(name: "SynHTTPSig", dependencies: ["SynSodium"], path: "Host/SynHTTPSig"),
        // Encrypted backup archives: the format, writing and reading them.
        .target(name: "SynBackup", dependencies: ["SynSodium", "SynSQLite", "SynSystem", "CSynSys"], path: "Host/SynBackup"),
        // Signed `.synapp` packages: the format, packing, and verification of hostile packages.
        .target(name: "SynPackage", dependencies: ["SynSodium", "SynConfig", "SynSandbox", "SynSystem"], path: "Host/SynPackage"),
        // The node's core: its apps under their profiles and grants, their lifecycle, the owner's actions.
        // net_request: HTTP/1.1 over GnuTLS to the apps' granted URLs, with SSRF rules.
        .target(name: "SynFetch", dependencies: [
            "SynTLS", "SynLink", "SynConfig", "SynBroker", "SynWire", "SynSystem",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Host/SynFetch"),
        .target(name: "SynRuntime", dependencies: [
            "SynSandbox", "SynSystem", "SynConfig", "SynBroker", "SynSodium", "SynWire", "SynPackage", "SynBackup", "SynAppStore", "CSynSys",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Host/SynRuntime"),
        // Apps moving to other nodes over the links (`apps migrate`), and arriving from them.
        .target(name: "SynMigration", dependencies: [
            "SynRuntime", "SynFederation", "SynConfig", "SynBackup", "SynBroker", "SynSodium", "SynSystem",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Host/SynMigration"),
        // The node's HTTP gateway: app calls, admin routes, signatures, metrics.
        // The pages the gateway serves to browsers: people at `/`, the owner at `/admin`.
        .target(name: "SynWeb", dependencies: ["SynSodium"], path: "Host/SynWeb", resources: [.copy("Assets")]),
        .target(name: "SynGateway", dependencies: [
            "SynWeb", "SynRuntime", "SynFederation", "SynMigration", "SynSandbox", "SynSystem", "SynConfig", "SynBroker", "SynSodium", "SynHTTPSig", "SynText", "SynPackage", "SynBackup", "CSynSys",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], path: "Host/SynGateway"),
        // The sandboxed worker executable.
        .executableTarget(name: "SynWorker", dependencies: [
            "SynWire", "PluginABI", "CSynSys", "CSynSeccomp", "CSynCap", "SynAppStore", "SynSystem",
        ], path: "Host/SynWorker"),
        // The node and its CLI.
        .executableTarget(name: "SynNode", dependencies: [
            "SynSandbox", "SynConfig", "SynWire", "SynBroker", "SynSodium", "SynSQLite", "CSynSys", "SynGateway", "SynRuntime", "SynHTTPSig",
            "SynFederation", "SynMigration", "SynTLS", "SynFetch", "SynPackage", "SynBackup",
            "SynText", "SynAppStore", "SynSystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ], path: "Host/SynNode"),

        // SynAppKit: the Swift SDK over the C ABI (typed handlers, storage, identity, events, migrations).
        .target(name: "SynAppKit", dependencies: ["PluginABI", "SynText"], path: "Plugins/SynAppKit"),
        // HomeServices: a home-services guild's Spaces, catalogs, bookings, orders and reviews.
        // SynSpaces: what the Space apps share: Spaces' managers, reviews with signed receipts, reputation, search scoring.
        .target(name: "SynSpaces", dependencies: ["SynAppKit"], path: "Plugins/SynSpaces"),
        .target(name: "HomeServices", dependencies: ["SynAppKit", "SynSpaces"], path: "Plugins/HomeServices"),
        // FoodMesh: stores sell perishable stock held by quotes, for pickup or delivery.
        .target(name: "FoodMesh", dependencies: ["SynAppKit", "SynSpaces"], path: "Plugins/FoodMesh"),
        // Messaging: conversations of envelopes signed by their authors.
        .target(name: "Messaging", dependencies: ["SynAppKit", "SynSpaces", .product(name: "Crypto", package: "swift-crypto")],
                path: "Plugins/Messaging"),

        // Swift test apps built as shared libraries against the C ABI.
        .target(name: "KitTestApp", dependencies: ["SynAppKit"], path: "Tests/SwiftApps/KitTestApp"),
        .target(name: "SwiftEchoApp", dependencies: ["PluginABI"], path: "Tests/SwiftApps/SwiftEchoApp"),
        .target(name: "SwiftFatalApp", dependencies: ["PluginABI"], path: "Tests/SwiftApps/SwiftFatalApp"),
        .target(name: "SwiftFoundationApp", dependencies: ["PluginABI"], path: "Tests/SwiftApps/SwiftFoundationApp"),

        // What several test targets share.
        .target(name: "SynTestSupport", dependencies: ["SynBroker", "SynConfig", "SynSandbox", "SynSodium", "SynWire"], path: "Tests/SynTestSupport"),
        .testTarget(name: "CWrapperTests", dependencies: ["CSynSQLite", "CSynSodium", "CSynSeccomp", "CSynCap", "CSynTLS"],
                    path: "Tests/CWrapperTests"),
        .testTarget(name: "SynGatewayTests", dependencies: [
            "SynGateway", "SynRuntime", "SynHTTPSig", "SynSodium", "SynConfig", "SynBroker", "SynSQLite", "SynSystem", "SynTestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Tests/SynGatewayTests"),
        .testTarget(name: "SynAppKitTests", dependencies: ["SynAppKit"], path: "Tests/SynAppKitTests"),
        .testTarget(name: "SynHTTPSigTests", dependencies: ["SynHTTPSig", "SynSodium", "SynText", "SynTestSupport"], path: "Tests/SynHTTPSigTests"),
        .testTarget(name: "SynSQLiteTests", dependencies: ["SynSQLite", "SynTestSupport"], path: "Tests/SynSQLiteTests"),
        .testTarget(name: "SynTextTests", dependencies: ["SynText", "SynTestSupport"], path: "Tests/SynTextTests"),
        .testTarget(name: "SynAppStoreTests", dependencies: ["SynAppStore", "SynSQLite", "SynText"], path: "Tests/SynAppStoreTests"),
        .testTarget(name: "SynFetchTests", dependencies: ["SynFetch", "SynConfig"], path: "Tests/SynFetchTests"),
        .testTarget(name: "SynFederationTests", dependencies: [
            "SynFederation", "SynBroker", "SynConfig", "SynLink", "SynTLS", "SynSodium", "SynTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Tests/SynFederationTests"),
        .testTarget(name: "SynLinkTests", dependencies: [
            "SynLink", "SynTLS", "SynSodium", "SynTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Tests/SynLinkTests"),
        .testTarget(name: "SynTLSTests", dependencies: ["SynTLS", "SynSodium", "SynTestSupport"], path: "Tests/SynTLSTests"),
        .testTarget(name: "SynSodiumTests", dependencies: ["SynSodium", "SynTestSupport"], path: "Tests/SynSodiumTests"),
        .testTarget(name: "SynWireTests", dependencies: ["SynWire", "SynTestSupport"], path: "Tests/SynWireTests"),
        .testTarget(name: "SynConfigTests", dependencies: ["SynConfig", "SynSodium", "SynTestSupport"], path: "Tests/SynConfigTests"),
        .testTarget(name: "SynSandboxTests", dependencies: ["SynSandbox", "SynConfig", "SynWire", "SynSodium", "SynSQLite", "SynTestSupport"],
                    path: "Tests/SynSandboxTests"),
        .testTarget(name: "SynBrokerTests", dependencies: ["SynBroker", "SynSandbox", "SynConfig", "SynWire", "SynSodium", "SynSQLite",
                                                   "SynSystem", "SynTestSupport"],
                    path: "Tests/SynBrokerTests"),
        .testTarget(name: "SynRuntimeTests", dependencies: ["SynRuntime", "SynBroker", "SynSQLite", "SynTestSupport"], path: "Tests/SynRuntimeTests"),
        .testTarget(name: "SynWebTests", dependencies: ["SynWeb", "SynTestSupport"], path: "Tests/SynWebTests"),
        .testTarget(name: "SynBackupTests", dependencies: ["SynBackup", "SynSodium", "SynSQLite", "SynTestSupport"], path: "Tests/SynBackupTests"),
        .testTarget(name: "SynPackageTests", dependencies: ["SynPackage", "SynConfig", "SynSodium", "SynTestSupport"],
                    path: "Tests/SynPackageTests"),
        // The `syneroym` binary as its users run it: the CLI, the node's process, its signals and its docs.
        .testTarget(name: "SynNodeTests", dependencies: ["SynSandbox", "SynConfig", "SynSodium", "SynSQLite", "SynBackup", "SynTestSupport"],
                    path: "Tests/SynNodeTests"),
    ]
)

// Strict Swift 6 settings, applied to every Swift target in one loop.
let cTargets: Set<String> = ["PluginABI", "CSynSys"]
// Every worker maps what it links, so the modules inside it leave out the runtime libraries Swift links by default
// and they never use (concurrency, regex): about 0.3 MB less per worker. An app that uses them links them itself.
let workerModules: Set<String> = ["SynWorker", "SynAppStore", "SynSQLite", "SynSystem", "SynText", "SynWire"]
for target in package.targets where workerModules.contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags([
        "-Xfrontend", "-disable-implicit-concurrency-module-import",
        "-Xfrontend", "-disable-implicit-string-processing-module-import",
    ])]
}

for target in package.targets where target.type != .system && !cTargets.contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
