import ArgumentParser

/// `syneroym keys new [NAME]`: creates a key; never replaces one.
struct KeysNew: CheckedCommand {
    static let configuration = CommandConfiguration(commandName: "new", abstract: "Create a new ed25519 key.")
    @OptionGroup var options: DataOption
    @Argument(help: "The key's name.") var name: String = "default"

    func execute() throws(CLIError) {
        let keyring = Keyring()
        let key = try keyring.create(name)
        print("created key '\(name)' at \(keyring.path(name)) (mode 0600)")
        print("key id: \(Keyring.keyID(key))")
    }
}
