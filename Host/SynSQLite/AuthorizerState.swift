/// What the authorizer callback shares with its connection. Used only on the connection's thread.
final class AuthorizerState {
    /// Whether `applyAppPolicy()` installed the authorizer.
    var policyApplied = false
    /// True while the host runs its own SQL (quota, size, vacuum), which the policy does not restrict.
    var trusted = false
    /// Why the last request was refused, cleared before each prepare and step.
    var lastRefusal: String?
}
