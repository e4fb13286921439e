import PluginABI

/// `syn_status` codes, read from synapp.h's `SYN_OK` and `SYN_E_*` so that the host, the worker and the gateway
/// cannot drift from the ABI (the codes are never renumbered).
public enum SynStatus {
    public static let ok = Int32(SYN_OK)
    public static let notFound = Int32(SYN_E_NOT_FOUND)
    public static let badArg = Int32(SYN_E_BAD_ARG)
    public static let denied = Int32(SYN_E_DENIED)
    public static let quota = Int32(SYN_E_QUOTA)
    public static let timeout = Int32(SYN_E_TIMEOUT)
    public static let unsupported = Int32(SYN_E_UNSUPPORTED)
    public static let conflict = Int32(SYN_E_CONFLICT)
    public static let tooLarge = Int32(SYN_E_TOO_LARGE)
    public static let io = Int32(SYN_E_IO)
    public static let internalError = Int32(SYN_E_INTERNAL)
}
