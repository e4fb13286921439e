import Foundation
import SynConfig
import SynFederation
import SynSodium
#if canImport(Glibc)
import Glibc
#endif

/// `<data>/migrations/<app>.json`: an app on its way to a peer, kept until the peer answers, so a restart of this
/// node goes on with the same bundle (the peer resumes where it stopped). Mode 0600: it holds the bundle's key.
struct MigrationRecord: Equatable {
    let app: String
    let to: String
    let id: UInt64
    let size: UInt64
    let digest: [UInt8]
    let key: [UInt8]
    let bundle: String
    let started: String
    /// Every byte went out: the peer may be installing it, so the move is no longer simply cancelled.
    var sentAll = false
    /// The peer answered that it installed the app: this node must mark it moved, whatever happens.
    var installed = false
    var answer = ""

    var transfer: OutgoingTransfer { OutgoingTransfer(id: id, app: app, peer: to, path: bundle, size: size, digest: digest, key: key) }

    static func path(_ directory: String, _ app: String) -> String { directory + "/\(app).json" }

    func save(in directory: String) throws {
        let object: [String: Any] = ["app": app, "to": to, "id": String(id), "size": size, "digest": Hex.encode(digest),
                                     "key": Hex.encode(key), "bundle": bundle, "started": started, "sent_all": sentAll,
                                     "installed": installed, "answer": answer]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        let path = Self.path(directory, app), tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        guard rename(tmp, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    static func load(_ path: String) -> MigrationRecord? {
        guard let data = FileManager.default.contents(atPath: path), data.count < 8192,
              let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let app = o["app"] as? String, NameRules.isAppID(app), let to = o["to"] as? String, NameRules.isNodeID(to),
              let id = (o["id"] as? String).flatMap({ UInt64($0) }), let size = (o["size"] as? NSNumber)?.uint64Value,
              let digest = (o["digest"] as? String).flatMap({ Hex.decode($0) }), digest.count == 32,
              let key = (o["key"] as? String).flatMap({ Hex.decode($0) }), key.count == 32,
              let bundle = o["bundle"] as? String, let started = o["started"] as? String else { return nil }
        var record = MigrationRecord(app: app, to: to, id: id, size: size, digest: digest, key: key, bundle: bundle, started: started)
        record.sentAll = o["sent_all"] as? Bool ?? false
        record.installed = o["installed"] as? Bool ?? false
        record.answer = o["answer"] as? String ?? ""
        return record
    }
}
