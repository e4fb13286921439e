/// `node.toml [fetch]`: how `net_request` reaches the web for the apps granted `net.fetch`.
///
/// ```toml
/// [fetch]
/// ca_file = "/etc/syneroym/lan-ca.pem"   # PEM certificate authorities trusted besides the system's store
/// max_response_kb = 1024                  # the largest response body an app receives (SYN_E_TOO_LARGE past it)
/// ```
public struct FetchSettings: Sendable, Equatable {
    public var caFile: String?
    public var maxResponseKB = 1024

    public init() {}

    static let keys = ["ca_file", "max_response_kb"]

    static func parse(_ table: TableReader) throws(ConfigError) -> FetchSettings {
        var f = FetchSettings()
        if let file = try table.string("ca_file") {
            guard file.hasPrefix("/") else { throw table.error(.badValue, "ca_file", "fetch.ca_file must be an absolute path to a PEM file, got \"\(file)\"") }
            f.caFile = file
        }
        f.maxResponseKB = try table.integer("max_response_kb", in: 1...65_536) ?? f.maxResponseKB
        return f
    }
}
