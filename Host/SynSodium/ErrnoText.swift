import Glibc

/// Short names for errno values in messages (thread-safe, unlike strerror).
enum ErrnoText {
    private static let names: [(Int32, String)] = [
        (EPERM, "EPERM"), (ENOENT, "ENOENT"), (EIO, "EIO"), (EBADF, "EBADF"), (EAGAIN, "EAGAIN"),
        (ENOMEM, "ENOMEM"), (EACCES, "EACCES"), (EEXIST, "EEXIST"), (ENOTDIR, "ENOTDIR"), (EISDIR, "EISDIR"),
        (EINVAL, "EINVAL"), (ENFILE, "ENFILE"), (EMFILE, "EMFILE"), (ENOSPC, "ENOSPC"), (EROFS, "EROFS"),
        (EMLINK, "EMLINK"), (ELOOP, "ELOOP"), (ENAMETOOLONG, "ENAMETOOLONG"), (EXDEV, "EXDEV"),
        (EDQUOT, "EDQUOT"), (ENOTSUP, "ENOTSUP"), (ETXTBSY, "ETXTBSY"), (EINTR, "EINTR"),
    ]

    /// "ENOENT" for a known number, "errno 123" otherwise.
    static func describe(_ number: Int32) -> String {
        names.first { $0.0 == number }?.1 ?? "errno \(number)"
    }
}
