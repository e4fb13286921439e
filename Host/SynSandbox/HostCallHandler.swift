public import SynWire

/// Answers the app's capability calls (`hostCall` frames). The broker implements this; until it lands every
/// capability slot answers SYN_E_UNSUPPORTED.
public protocol HostCallHandler: Sendable {
    /// Runs one host function for `app` during request `requestID`.
    /// Returns the `syn_status` and the reply payload (on failure, a UTF-8 message for `last_error`).
    func hostCall(app: String, requestID: UInt64, op: HostOp, payload: [UInt8]) -> (status: Int32, payload: [UInt8])
}

/// The handler used before the capability broker exists: every capability slot is callable and says why it fails.
public struct UnsupportedHostCalls: HostCallHandler {
    public init() {}
    public func hostCall(app: String, requestID: UInt64, op: HostOp, payload: [UInt8]) -> (status: Int32, payload: [UInt8]) {
        let message = "\(op.slotName) is not supported by this node yet: the capability broker that serves it is not installed"
        return (-6, Array(message.utf8)) // SYN_E_UNSUPPORTED
    }
}
