import ArgumentParser
import Foundation

/// `syneroym keys new [NAME]`: creates a key; never replaces one.
struct KeysNew: CheckedCommand {
    static let configuration = CommandConfiguration(commandName: "new", abstract: "Create a new ed25519 key.")
    @OptionGroup var options: DataOption
    @Argument(help: "The key's name.") var name: String = "default"
    @Flag(help: "If a key of that name exists, keep it and say so (exit 0) instead of refusing.") var existOK = false

    func execute() throws(CLIError) {
        let keyring = Keyring()
        if existOK, FileManager.default.fileExists(atPath: keyring.path(name)) {
            let key = try keyring.load(name)
            print("key '\(name)' exists at \(keyring.path(name)); kept")
            print("key id: \(Keyring.keyID(key))")
            return
        }
        let key = try keyring.create(name)
        print("created key '\(name)' at \(keyring.path(name)) (mode 0600)")
        print("key id: \(Keyring.keyID(key))")
    }
}
