import Glibc
import SynHTTPSig
import SynSodium

/// The RFC 9421 Appendix B.1.4 test key `test-key-ed25519` (testing only, published in the RFC).
enum RFCTestKey {
    /// Private seed `d` (base64url).
    static let seed = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"
    /// Public key `x` (base64url): also this key's keyid in Syneroym's profile.
    static let publicKey = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"

    /// The key as a `SigningKey`, loaded through a 0600 key file (SynSodium has no seed-import API).
    static func signingKey() throws -> SigningKey {
        let seedBytes = Base64URL.decode(seed) ?? []
        let publicBytes = Base64URL.decode(publicKey) ?? []
        return try loadKey(seed: seedBytes, publicKey: publicBytes)
    }
}

/// Loads a key pair from a temporary key file holding `seed + publicKey`.
func loadKey(seed: [UInt8], publicKey: [UInt8]) throws -> SigningKey {
    var template = Array("/tmp/synhttpsig-test-XXXXXX".utf8CString)
    let directory: String? = template.withUnsafeMutableBufferPointer { buffer in
        guard let base = buffer.baseAddress, let made = mkdtemp(base) else { return nil }
        return String(cString: made)
    }
    guard let directory else { throw SodiumError(.io, "mkdtemp failed") }
    let path = directory + "/key"
    defer {
        unlink(path)
        rmdir(directory)
    }
    let bytes = seed + publicKey
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else { throw SodiumError(.io, "cannot create \(path)") }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    fchmod(fd, 0o600)
    close(fd)
    guard written == bytes.count else { throw SodiumError(.io, "short write to \(path)") }
    return try KeyFile.load(path: path)
}

/// Runs `body` and returns the SignatureError it throws, or nil if it succeeds.
func refusal<T>(_ body: () throws(SignatureError) -> T) -> SignatureError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// A fixed "now" for deterministic tests.
let testNow: Int64 = 1_750_000_000

let echoURL = "http://127.0.0.1:7420/v1/apps/hello/echo"

/// The request a server would see for `url` carrying `signed`'s headers plus `extra`.
func serverRequest(method: String, url: String, body: [UInt8] = [], signed: SignedHeaders,
                   extra: [HTTPField] = []) throws(SignatureError) -> SignedRequest {
    try SignedRequest(method: method, url: url, headers: extra + signed.fields, body: body)
}

/// `request` with header `name` (any case) replaced by `value`, or removed when `value` is nil.
func replacing(_ name: String, with value: String?, in request: SignedRequest) -> SignedRequest {
    var copy = request
    copy.headers.removeAll { $0.name.lowercased() == name.lowercased() }
    if let value { copy.headers.append(HTTPField(name: name, value: value)) }
    return copy
}
