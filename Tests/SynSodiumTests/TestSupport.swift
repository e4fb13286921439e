import Glibc
import SynSodium

/// The whole content of the file at `path` (empty if unreadable).
func readBytes(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        out.append(contentsOf: chunk[0..<count])
    }
    return out
}

/// `lstat` permission bits of `path`, or nil.
func modeBits(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o7777
}

/// Runs `body` and returns the SodiumError it throws, or nil if it succeeds.
func sodiumError<T>(_ body: () throws(SodiumError) -> T) -> SodiumError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Bytes from hex in test vectors (empty on a typo, which then fails the test).
func bytes(_ hex: String) -> [UInt8] { Hex.decode(hex) ?? [] }
