import SynSodium
import SynSystem
import SynText
import SynWire
import SynAppStore

/// A person's signature over one app-to-app call (`app_call`'s `on_behalf`): the JSON array
/// `["<key>", <created>, "<nonce>", "<signature>"]`, the key and signature in unpadded base64url, `created` in Unix
/// seconds. The signed bytes are the `appCall` signature domain (`SignatureDomain`) over
/// `"<node id>\n<calling app>\n<target app>\n<method>\n<sha256 of the body, hex>\n<created>\n<nonce>"`, so a
/// signature names the exact call, the node and the app the person trusts to pass it on, and verifies for nothing
/// else: no other node, passing app, target, method or body, and no signed request or message.
public struct SignedCall: Equatable, Sendable {
    let key: [UInt8]
    let created: Int64
    let nonce: String
    let signature: [UInt8]

    /// How far `created` may lie in the past, and in the future (clock skew).
    public static let maxAgeSeconds: Int64 = 300
    static let maxSkewSeconds: Int64 = 30

    /// The bytes a person signs for calling `method` of `app` with `body`.
    public static func message(node: String, via: String, app: String, method: String, body: [UInt8], created: Int64, nonce: String) -> [UInt8] {
        Array("\(node)\n\(via)\n\(app)\n\(method)\n\(Hex.encode(Hash.sha256(body)))\n\(created)\n\(nonce)".utf8)
    }

    /// Parses `on_behalf`; nil with why when it is not a signed call.
    static func parse(_ bytes: [UInt8]) -> Result<SignedCall, BrokerFailure> {
        let shape = BrokerFailure(SynStatus.badArg, "app_call: on_behalf is [\"<key>\", <created>, \"<nonce>\", \"<signature>\"] (docs/abi.md)")
        guard let items = JSONScalars.array(bytes), items.count == 4,
              case .string(let keyText) = items[0], case .integer(let created) = items[1],
              case .string(let nonce) = items[2], case .string(let signatureText) = items[3] else { return .failure(shape) }
        guard let key = Base64URL.decode(keyText), key.count == 32 else {
            return .failure(BrokerFailure(SynStatus.badArg, "app_call: on_behalf's key is 32 bytes in unpadded base64url"))
        }
        guard let signature = Base64URL.decode(signatureText), signature.count == 64 else {
            return .failure(BrokerFailure(SynStatus.badArg, "app_call: on_behalf's signature is 64 bytes in unpadded base64url"))
        }
        guard (8...64).contains(nonce.utf8.count), nonce.utf8.allSatisfy({ NameRulesLite.isNonceByte($0) }) else {
            return .failure(BrokerFailure(SynStatus.badArg, "app_call: on_behalf's nonce is 8 to 64 characters of [A-Za-z0-9_-]"))
        }
        return .success(SignedCall(key: key, created: created, nonce: nonce, signature: signature))
    }

    /// Nil when the person signed exactly this call recently; otherwise why not.
    /// `notBefore`: the node's start (Unix seconds); a call signed earlier may have been used before a restart,
    /// which the replay guard, kept in memory, does not remember.
    func refusal(node: String, via: String, app: String, method: String, body: [UInt8], nowSeconds: Int64, notBefore: Int64) -> String? {
        if created > nowSeconds + Self.maxSkewSeconds { return "the signed call was created in the future (\(created - nowSeconds) s ahead)" }
        if created < nowSeconds - Self.maxAgeSeconds { return "the signed call is more than \(Self.maxAgeSeconds) s old" }
        if created < notBefore { return "the signed call was made before the node started; sign it again" }
        let signed = Self.message(node: node, via: via, app: app, method: method, body: body, created: created, nonce: nonce)
        guard Ed25519.verify(publicKey: key, domain: .appCall, message: signed, signature: signature) else {
            return "the signature does not verify for this key, node, passing app, target app, method and body"
        }
        return nil
    }
}

/// The characters a signed call's nonce may use.
enum NameRulesLite {
    static func isNonceByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
    }
}
