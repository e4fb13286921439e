import Foundation
import SynConfig
import SynSodium

/// The user's own keys, for signing requests: `$XDG_CONFIG_HOME/syneroym/keys/<name>.key` (else
/// `~/.config/syneroym/keys/`), each a raw libsodium ed25519 secret key, mode 0600, in a 0700 directory.
struct Keyring {
    let directory: String

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? ".") + "/.config"
        directory = config + "/syneroym/keys"
    }

    func path(_ name: String) -> String { directory + "/" + name + ".key" }

    /// Key names: lowercase letters, digits, '_' and '-', starting with a letter or digit.
    static func check(_ name: String) throws(CLIError) {
        guard NameRules.isProfileName(name) else {
            throw CLIError("error: key names match ^[a-z0-9][a-z0-9_-]{0,62}$, got \"\(name)\"")
        }
    }

    /// Creates key `name`; refuses to replace an existing one.
    func create(_ name: String) throws(CLIError) -> SigningKey {
        try Self.check(name)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch { throw CLIError("error: cannot create \(directory): \(error.localizedDescription)") }
        guard !FileManager.default.fileExists(atPath: path(name)) else {
            throw CLIError("error: key '\(name)' already exists at \(path(name)); keys are never overwritten")
        }
        do {
            let (key, created) = try KeyFile.loadOrCreate(path: path(name))
            guard created else { throw CLIError("error: key '\(name)' appeared at \(path(name)) meanwhile; not replaced") }
            return key
        } catch let error as CLIError { throw error } catch { throw CLIError("error: \(error)") }
    }

    /// Loads key `name` (permissions checked).
    func load(_ name: String) throws(CLIError) -> SigningKey {
        try Self.check(name)
        do { return try KeyFile.load(path: path(name)) } catch {
            if !FileManager.default.fileExists(atPath: path(name)) {
                throw CLIError("error: no key '\(name)' in \(directory): create it with `syneroym keys new \(name)`")
            }
            throw CLIError("error: key '\(name)': \(error.message)")
        }
    }

    /// Names of the keys present, sorted.
    func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".key") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// The key id other parties know a key by: base64url of the raw 32-byte public key.
    static func keyID(_ key: SigningKey) -> String { Base64URL.encode(key.publicKey) }
}
