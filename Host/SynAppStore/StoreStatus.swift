/// `syn_status` codes as host slots return them, in the worker's store and in the broker (synapp.h; never renumbered).
public enum StoreStatus {
    public static let ok: Int32 = 0
    public static let notFound: Int32 = -1
    public static let badArg: Int32 = -2
    public static let denied: Int32 = -3
    public static let quota: Int32 = -4
    public static let timeout: Int32 = -5
    public static let unsupported: Int32 = -6
    public static let conflict: Int32 = -7
    public static let tooLarge: Int32 = -8
    public static let io: Int32 = -9
    public static let internalError: Int32 = -10
}
