/// A TOML table: its keys in document-library order, and their values.
struct ConfigTable {
    var keys: [String] = []
    var values: [String: ConfigValue] = [:]

    subscript(key: String) -> ConfigValue? { values[key] }

    mutating func append(_ key: String, _ value: ConfigValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
    }
}
