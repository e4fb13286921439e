import ArgumentParser

/// `syneroym keys list`: every key's name and id.
struct KeysList: CheckedCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List your keys and their ids.")
    @OptionGroup var options: DataOption

    func execute() throws(CLIError) {
        let keyring = Keyring()
        let names = keyring.names()
        guard !names.isEmpty else {
            print("no keys in \(keyring.directory); create one with `syneroym keys new`")
            return
        }
        for name in names {
            do {
                let key = try keyring.load(name)
                print("\(name)\t\(Keyring.keyID(key))")
            } catch {
                // A key with unsafe permissions is listed with the reason, not skipped silently.
                print("\(name)\tunusable: \(error.message)")
            }
        }
    }
}
