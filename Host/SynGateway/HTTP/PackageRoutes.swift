import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import SynBackup
import SynBroker
import SynConfig
import SynHTTPSig
import SynPackage
import SynRuntime
import SynSodium
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `/v1/admin/apps/install`, `/v1/admin/apps/{app}/rollback` and `/v1/admin/apps/{app}/versions`: signed packages,
/// owner-signed like every admin route.
///
/// A package is the request body. It is streamed to a file in `<data>/tmp` (never held in memory) while its
/// SHA-256 is taken for the signature's `Content-Digest`, after a cheap check that the signature at least claims an
/// owner's key. One upload at a time: another gets 409 `busy`.
struct PackageRoutes: Sendable {
    let runtime: NodeRuntime
    let signatures: SignatureCheck

    func add(to router: Router<GatewayContext>) {
        let admin = AdminRoutes(runtime: runtime, signatures: signatures)
        let shared = SharedSlot()
        router.post("/v1/admin/apps/install") { request, context in
            try await install(request, context, slot: shared)
        }
        router.post("/v1/admin/apps/{app}/rollback") { request, context in
            let actor = try await admin.owner(request, context)
            let app = try context.parameters.require("app")
            if let refusal = runtime.auditRefusal() {
                throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"])
            }
            let runtime = self.runtime, tag = context.requestID
            let done = try await AdminRoutes.offThread { () throws(NodeError) -> NodeRuntime.RolledBack in
                try runtime.rollback(app: app, actor: actor, tag: tag)
            }
            return GatewayJSON.response(.ok, ["app": done.app, "from": done.from, "to": done.to, "kept_aside": done.keptAside,
                                              "state": runtime.app(app)?.state ?? "unknown", "request_id": context.requestID])
        }
        // An app's bundle, written on the node's machine: {"to": "/abs/file", "key_file": "/abs/key"?}.
        router.post("/v1/admin/apps/{app}/export") { request, context in
            let (actor, body) = try await admin.ownerAndBody(request, context)
            let app = try context.parameters.require("app")
            let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
            guard let to = object["to"] as? String, to.hasPrefix("/") else {
                throw APIError(.badRequest, "bad_input", #"the body must be {"to": "/absolute/file.synexport"} on the node's machine, and may name "key_file" and "moved_to""#)
            }
            let key = try Self.key(object["key_file"])
            if let refusal = runtime.auditRefusal() { throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"]) }
            let runtime = self.runtime, tag = context.requestID, movedTo = object["moved_to"] as? String
            let done = try await AdminRoutes.offThread { () throws(NodeError) -> NodeRuntime.Exported in
                if let movedTo { return try runtime.exportMoving(app, to: to, key: key, movedTo: movedTo, actor: actor, tag: tag) }
                return try runtime.exportApp(app, to: to, key: key, actor: actor, tag: tag)
            }
            return GatewayJSON.response(.ok, ["app": done.app, "version": done.version, "path": done.path, "bytes": done.bytes,
                                              "node": done.node, "request_id": context.requestID])
        }
        // An app from a bundle on the node's machine: {"bundle": "/abs/file", "key_file"?, "from"?, "grant_requested"?,
        // "new_developer"?}.
        router.post("/v1/admin/apps/import") { request, context in
            let (actor, body) = try await admin.ownerAndBody(request, context)
            let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
            guard let bundle = object["bundle"] as? String, bundle.hasPrefix("/") else {
                throw APIError(.badRequest, "bad_input", #"the body must be {"bundle": "/absolute/file.synexport"} on the node's machine, and may name "key_file", "from", "grant_requested" and "new_developer""#)
            }
            let key = try Self.key(object["key_file"])
            let from = object["from"] as? String
            let options = NodeRuntime.InstallOptions(grantRequested: object["grant_requested"] as? Bool ?? false,
                                                     newDeveloper: object["new_developer"] as? Bool ?? false)
            if let refusal = runtime.auditRefusal() { throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"]) }
            let runtime = self.runtime, tag = context.requestID
            let done = try await AdminRoutes.offThread { () throws(NodeError) -> NodeRuntime.Imported in
                try runtime.importApp(from: bundle, key: key, expectedNode: from, options: options, actor: actor, tag: tag)
            }
            var answer: [String: Any] = ["app": done.installed.app, "version": done.installed.version, "from": done.from,
                                         "state": done.installed.state, "requested": done.installed.requested,
                                         "not_granted": done.installed.notGranted, "request_id": context.requestID]
            if let section = done.installed.section { answer["node_toml"] = section }
            return GatewayJSON.response(.ok, answer)
        }
        router.get("/v1/admin/apps/{app}/versions") { request, context in
            _ = try await admin.owner(request, context)
            let app = try context.parameters.require("app")
            guard runtime.app(app) != nil else { throw APIError(.notFound, "unknown_app", "no app '\(app)' on this node") }
            let record: (developer: String, versions: [(version: String, installedAt: String, by: String, package: String)])?
            do throws(NodeError) { record = try runtime.installedVersions(app: app) } catch { throw APIError(.internalServerError, error.code.rawValue, error.message) }
            guard let record else {
                return GatewayJSON.response(.ok, ["app": app, "versions": [Any](), "developer": NSNull(),
                                                  "note": "'\(app)' was not installed from a package", "request_id": context.requestID])
            }
            let versions: [[String: Any]] = record.versions.map {
                ["version": $0.version, "installed_at": $0.installedAt, "by": $0.by, "package": $0.package]
            }
            return GatewayJSON.response(.ok, ["app": app, "developer": record.developer, "versions": versions, "request_id": context.requestID])
        }
    }

    /// A key file named in a request (a path on the node's machine), or nil for node.toml's.
    static func key(_ value: Any?) throws -> BackupKey? {
        guard let path = value as? String else { return nil }
        guard path.hasPrefix("/") else { throw APIError(.badRequest, "bad_input", "key_file must be an absolute path on the node's machine") }
        do { return try BackupKey.load(path: path) } catch { throw APIError(.badRequest, "bad_key", error.message) }
    }

    /// One upload at a time, across the router's closures.
    final class SharedSlot: Sendable {
        let busy = Mutex(false)
        func take() -> Bool { busy.withLock { b in defer { b = true }; return !b } }
        func give() { busy.withLock { $0 = false } }
    }

    private func install(_ request: Request, _ context: GatewayContext, slot: SharedSlot) async throws -> Response {
        let owners = Set(runtime.config.owners)
        guard SignatureCheck.isSigned(request.head) else {
            throw APIError(.unauthorized, "signature_required", "/v1/admin needs a request signed by a node owner (docs/request-signing.md)",
                           headers: [.wwwAuthenticate: #"Signature realm="syneroym", alg="ed25519""#])
        }
        // Nothing of the body is read until the signature over the headers has verified: an owner's key, in its time
        // window, a nonce never seen, covering a Content-Digest whose SHA-256 the body must then match.
        guard SignatureCheck.claimsOwner(request.head, owners: owners) else {
            throw APIError(.forbidden, "not_an_owner", "the request is not signed by a key listed in node.toml [node] owners")
        }
        guard let claimed = Self.sha256(ofContentDigest: request.head.headerFields[.contentDigest]) else {
            throw APIError(.badRequest, "signature_missing_component", "a package upload needs a Content-Digest header with its sha-256, covered by the signature (docs/request-signing.md)")
        }
        guard let verified = try signatures.signature(of: request.head, body: [], bodyDigest: claimed, client: context.channel.remoteAddress),
              verified.components.contains("content-digest") else {
            throw APIError(.unauthorized, "signature_missing_component", "the signature must cover content-digest, so that it covers the package")
        }
        let actor = Base64URL.encode(verified.publicKey)
        guard owners.contains(actor) else { throw APIError(.forbidden, "not_an_owner", "key \(actor) is not listed in node.toml [node] owners") }
        if let refusal = runtime.auditRefusal() {
            throw APIError(.serviceUnavailable, "audit_unavailable", refusal, headers: [.retryAfter: "1"])
        }
        if let refusal = runtime.diskRefusal { throw APIError(.init(code: 507), "insufficient_storage", refusal) }
        let limit = runtime.config.packages.maxPackageMB << 20
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.contentTooLarge, "body_too_large", "the package is \(declared) bytes; this node takes packages up to \(limit) bytes (node.toml [packages] max_package_mb)")
        }
        guard slot.take() else { throw APIError(.conflict, "busy", "another package is being uploaded to this node; try again when it has finished") }
        defer { slot.give() }
        let path = runtime.layout.data + "/tmp/upload-\(getpid())-\(context.requestID.prefix(32)).synapp"
        defer { unlink(path) }
        let digest = try await receive(request, to: path, limit: limit)
        guard digest == claimed else {
            throw APIError(.badRequest, "signature_digest_mismatch", "the package's sha-256 is not the Content-Digest the signature covers; it was altered on the way, or cut short")
        }
        let query = request.uri.queryParameters
        let options = NodeRuntime.InstallOptions(grantRequested: query.get("grant_requested") == "1",
                                                 newDeveloper: query.get("new_developer") == "1")
        let runtime = self.runtime, tag = context.requestID
        let done = try await AdminRoutes.offThread { () throws(NodeError) -> NodeRuntime.Installed in
            try runtime.install(package: path, options: options, actor: actor, tag: tag)
        }
        var object: [String: Any] = [
            "app": done.app, "version": done.version, "developer": done.developer, "state": done.state,
            "requested": done.requested, "not_granted": done.notGranted, "sbom": done.sbom,
            "provenance": ["created": done.provenance.created, "source_revision": done.provenance.sourceRevision,
                           "toolchain": done.provenance.toolchain, "packer": done.provenance.packer],
            "request_id": context.requestID,
        ]
        if let previous = done.previous { object["previous"] = previous }
        if let section = done.section { object["node_toml"] = section }
        return GatewayJSON.response(.ok, object)
    }

    /// The sha-256 of a `Content-Digest` header (`sha-256=:<base64>:`, perhaps among others), or nil.
    static func sha256(ofContentDigest header: String?) -> [UInt8]? {
        guard let header, header.utf8.count <= 1024 else { return nil }
        for member in header.split(separator: ",") {
            let item = member.trimmingCharacters(in: .whitespaces)
            guard item.hasPrefix("sha-256=:"), item.hasSuffix(":"), item.count > 10 else { continue }
            let value = item.dropFirst("sha-256=:".count).dropLast()
            if let bytes = Base64.decode(String(value)), bytes.count == 32 { return bytes }
        }
        return nil
    }

    /// Streams the body into a new file at `path`, at most `limit` bytes within ten minutes, and returns its SHA-256.
    private func receive(_ request: Request, to path: String, limit: Int) async throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(600)
        try? FileManager.default.createDirectory(atPath: runtime.layout.data + "/tmp", withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw APIError(.internalServerError, "io", "cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        var hash = SHA256Stream()
        for try await buffer in request.body {
            guard Date() < deadline else {
                throw APIError(.requestTimeout, "upload_too_slow", "the package did not arrive within ten minutes")
            }
            guard hash.count + buffer.readableBytes <= limit else {
                throw APIError(.contentTooLarge, "body_too_large", "the package is over \(limit) bytes; this node takes packages up to that (node.toml [packages] max_package_mb)")
            }
            let failed: Int32? = buffer.withUnsafeReadableBytes { raw in
                hash.update(raw)
                var done = 0
                while done < raw.count {
                    let n = write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return errno }
                    done += n
                }
                return nil
            }
            if let failed { throw APIError(.init(code: 507), "io", "cannot store the upload in \(path): errno \(failed)") }
        }
        return hash.finish()
    }
}
