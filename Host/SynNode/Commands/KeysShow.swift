import ArgumentParser
import SynSodium

/// `syneroym keys show [NAME]`: a key's id and public key, never its secret.
struct KeysShow: CheckedCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a key's id and public key.")
    @OptionGroup var options: DataOption
    @Argument(help: "The key's name.") var name: String = "default"

    func execute() throws(CLIError) {
        let keyring = Keyring()
        let key = try keyring.load(name)
        print("name:       \(name)")
        print("file:       \(keyring.path(name))")
        print("key id:     \(Keyring.keyID(key))    (base64url; list it in node.toml [node] owners to administer a node)")
        print("public key: \(Hex.encode(key.publicKey))    (hex)")
    }
}
