/// `syn_status` codes as the broker returns them (synapp.h; never renumbered).
enum BrokerStatus {
    static let ok: Int32 = 0
    static let notFound: Int32 = -1
    static let badArg: Int32 = -2
    static let denied: Int32 = -3
    static let quota: Int32 = -4
    static let timeout: Int32 = -5
    static let unsupported: Int32 = -6
    static let conflict: Int32 = -7
    static let tooLarge: Int32 = -8
    static let io: Int32 = -9
    static let internalError: Int32 = -10
}

/// A host call's failure: a status and the message the app reads through `last_error`.
struct BrokerFailure: Error {
    let status: Int32
    let message: String
    init(_ status: Int32, _ message: String) {
        self.status = status
        self.message = message
    }
}
