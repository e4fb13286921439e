/// The subset of RFC 8941 structured-field values this module reads and writes (no decimals, dates or display
/// strings: those are refused by the parser).
enum SFBareItem: Equatable, Sendable {
    case integer(Int64)
    case string(String)
    case token(String)
    case bytes([UInt8])
    case boolean(Bool)
}

/// One `;key=value` parameter.
struct SFParameter: Equatable, Sendable {
    let key: String
    let value: SFBareItem
}

/// A bare item with its parameters.
struct SFItem: Equatable, Sendable {
    let value: SFBareItem
    let parameters: [SFParameter]
}

/// A dictionary member's value: an item or an inner list with its own parameters.
enum SFMemberValue: Equatable, Sendable {
    case item(SFItem)
    case innerList([SFItem], parameters: [SFParameter])
}

/// One dictionary member, with the exact bytes of its value as received (after `=`, through its parameters): a
/// slice of the parsed field, so no copy is made.
struct SFDictionaryMember: Equatable, Sendable {
    let key: String
    let value: SFMemberValue
    let raw: ArraySlice<UInt8>
}

extension [SFParameter] {
    /// The value of parameter `key`, if present.
    subscript(parameter key: String) -> SFBareItem? { first { $0.key == key }?.value }
}
