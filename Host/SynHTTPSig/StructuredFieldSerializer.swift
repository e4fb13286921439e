/// Canonical RFC 8941 serialisation (§4.1) of the values this module writes.
enum StructuredFieldSerializer {
    /// `("a" "b");k=v` for an inner list.
    static func innerList(_ items: [SFItem], parameters: [SFParameter]) -> String {
        "(" + items.map(item).joined(separator: " ") + ")" + serialize(parameters)
    }

    /// A bare item followed by its parameters.
    static func item(_ item: SFItem) -> String { bareItem(item.value) + serialize(item.parameters) }

    /// `;key=value` for each parameter; `;key` alone for boolean true.
    static func serialize(_ parameters: [SFParameter]) -> String {
        var out = ""
        for parameter in parameters {
            out += ";" + parameter.key
            if parameter.value != .boolean(true) { out += "=" + bareItem(parameter.value) }
        }
        return out
    }

    /// One bare item.
    static func bareItem(_ value: SFBareItem) -> String {
        switch value {
        case .integer(let number): String(number)
        case .string(let text): quoted(text)
        case .token(let token): token
        case .bytes(let bytes): ":" + Base64.encode(bytes) + ":"
        case .boolean(let flag): flag ? "?1" : "?0"
        }
    }

    /// `"text"` with `\` and `"` escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\\" || scalar == "\"" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
    }
}
