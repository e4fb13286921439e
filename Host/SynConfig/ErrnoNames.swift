import Glibc

/// Errno names accepted in profiles, and their numbers on this platform.
enum ErrnoNames {
    /// Accepted names, in the order shown in messages.
    static let table: [(name: String, number: Int32)] = [
        ("EPERM", EPERM), ("ENOENT", ENOENT), ("EACCES", EACCES), ("ENOSYS", ENOSYS), ("EINVAL", EINVAL),
        ("EAGAIN", EAGAIN), ("ENOMEM", ENOMEM), ("EBADF", EBADF), ("EFAULT", EFAULT), ("ENOTSUP", ENOTSUP),
        ("EOPNOTSUPP", EOPNOTSUPP), ("EINTR", EINTR), ("EEXIST", EEXIST), ("ENOTDIR", ENOTDIR),
        ("EISDIR", EISDIR), ("EROFS", EROFS), ("ENOTTY", ENOTTY), ("ESRCH", ESRCH), ("ECHILD", ECHILD),
        ("EBUSY", EBUSY), ("ENFILE", ENFILE), ("EMFILE", EMFILE), ("ENOSPC", ENOSPC), ("ESPIPE", ESPIPE),
        ("ERANGE", ERANGE), ("EXDEV", EXDEV), ("EIO", EIO), ("ELOOP", ELOOP), ("ENAMETOOLONG", ENAMETOOLONG),
    ]

    /// Largest errno number a seccomp errno action can carry meaningfully.
    static let maxNumber: Int32 = 4095

    /// The number for an accepted errno name, or nil.
    static func number(of name: String) -> Int32? {
        table.first { $0.name == name }?.number
    }

    /// The first accepted name for `number`, or nil.
    static func name(of number: Int32) -> String? {
        table.first { $0.number == number }?.name
    }

    /// "ENOENT" for a known number, "errno 123" otherwise.
    static func describe(_ number: Int32) -> String {
        name(of: number) ?? "errno \(number)"
    }

    /// The accepted names as one comma-separated list.
    static var namesList: String {
        table.map(\.name).joined(separator: ", ")
    }
}
