/// One header field line as received: name (any case) and value.
public struct HTTPField: Sendable, Equatable, Hashable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
