import ArgumentParser

/// `syneroym keys`: the user's own signing keys, kept under `$XDG_CONFIG_HOME/syneroym/keys/` with mode 0600.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage your signing keys (for signed calls and node administration).",
        discussion: "Keys live in $XDG_CONFIG_HOME/syneroym/keys/ (else ~/.config/syneroym/keys/), one file each, mode 0600. "
            + "A key's id is the base64url of its 32-byte public key; its secret half is never printed.",
        subcommands: [KeysNew.self, KeysList.self, KeysShow.self])
}
