import Foundation
public import SynSodium

/// A `.synapp` package split at its parts (docs/abi.md §9), so that tests can build altered ones: a flipped byte, a
/// header edited and signed again, a signature by another key.
public struct PackageParts {
    public var key: [UInt8]
    public var header: [UInt8]
    public var signature: [UInt8]
    public var body: [UInt8]

    public init(_ path: String) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count >= 108 else { throw TestFailure("\(path) is too short for a package") }
        let length = Int(bytes[40]) | Int(bytes[41]) << 8 | Int(bytes[42]) << 16 | Int(bytes[43]) << 24
        guard bytes.count >= 108 + length else { throw TestFailure("\(path) is shorter than its header says") }
        key = Array(bytes[8..<40])
        header = Array(bytes[44..<(44 + length)])
        signature = Array(bytes[(44 + length)..<(108 + length)])
        body = Array(bytes[(108 + length)...])
    }

    /// The package's bytes, with the header length written as `length` (the header's own by default).
    public func bytes(length: UInt32? = nil) -> [UInt8] {
        var l = (length ?? UInt32(header.count)).littleEndian
        return Array("SYNAPP1\n".utf8) + key + withUnsafeBytes(of: &l) { Array($0) } + header + signature + body
    }

    public func write(_ path: String) throws {
        try Data(bytes()).write(to: URL(fileURLWithPath: path))
    }

    /// Edits the header as JSON and signs it again with `signer` (the key the package names stays as it is).
    public mutating func resign(_ signer: SigningKey, _ change: (inout [String: Any]) -> Void) throws {
        guard var object = try JSONSerialization.jsonObject(with: Data(header)) as? [String: Any] else {
            throw TestFailure("the package header is not a JSON object")
        }
        change(&object)
        header = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        signature = signer.sign(domain: .package, header)
    }
}
