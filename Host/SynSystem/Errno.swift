#if canImport(Glibc)
import Glibc
#endif

/// Errno names, for messages and for the profiles that name an errno (thread-safe, unlike `strerror`).
public enum Errno {
    /// Known names and their numbers on this platform, in the order shown in messages.
    public static let table: [(name: String, number: Int32)] = [
        ("EPERM", EPERM), ("ENOENT", ENOENT), ("EACCES", EACCES), ("ENOSYS", ENOSYS), ("EINVAL", EINVAL),
        ("EAGAIN", EAGAIN), ("ENOMEM", ENOMEM), ("EBADF", EBADF), ("EFAULT", EFAULT), ("ENOTSUP", ENOTSUP),
        ("EOPNOTSUPP", EOPNOTSUPP), ("EINTR", EINTR), ("EEXIST", EEXIST), ("ENOTDIR", ENOTDIR),
        ("EISDIR", EISDIR), ("EROFS", EROFS), ("ENOTTY", ENOTTY), ("ESRCH", ESRCH), ("ECHILD", ECHILD),
        ("EBUSY", EBUSY), ("ENFILE", ENFILE), ("EMFILE", EMFILE), ("ENOSPC", ENOSPC), ("ESPIPE", ESPIPE),
        ("ERANGE", ERANGE), ("EXDEV", EXDEV), ("EIO", EIO), ("ELOOP", ELOOP), ("ENAMETOOLONG", ENAMETOOLONG),
        ("EDQUOT", EDQUOT), ("EMLINK", EMLINK), ("ETXTBSY", ETXTBSY), ("EFBIG", EFBIG),
    ]

    /// The number for a known name, or nil.
    public static func number(named name: String) -> Int32? { table.first { $0.name == name }?.number }

    /// The first known name for `number`, or nil.
    public static func name(_ number: Int32) -> String? { table.first { $0.number == number }?.name }

    /// "ENOENT" for a known number, "errno 123" otherwise.
    public static func describe(_ number: Int32) -> String { name(number) ?? "errno \(number)" }

    /// The known names as one comma-separated list.
    public static var names: String { table.map(\.name).joined(separator: ", ") }
}
