/// A declarative workflow, in the spirit of Sharetribe's transaction processes: named states, transitions between
/// them, the role allowed to take each one, optional guards, and timed transitions that the node fires through
/// `timer_set` (for example a pending booking that expires). Every transition taken is recorded with its actor and
/// time, and emitted as the event `<app id>.<workflow>.<transition>`.
///
/// ```swift
/// let order = Workflow("order", initial: "requested", transitions: [
///     .init("confirm", from: ["requested"], to: "confirmed", by: .provider),
///     .init("expire", from: ["requested"], to: "expired", by: .system, after: .hours(24)),
///     .init("complete", from: ["in_progress"], to: "completed", by: .provider),
/// ])
/// ```
public struct Workflow: Sendable {
    /// Who may take a transition: the instance's consumer, its provider, either of them, or only the node's timer.
    public enum Role: String, Sendable, Codable {
        case consumer, provider, party, system
    }

    /// A delay for timed transitions.
    public struct Delay: Sendable, Equatable {
        public let milliseconds: UInt64
        public static func milliseconds(_ ms: UInt64) -> Delay { Delay(milliseconds: ms) }
        public static func seconds(_ s: UInt64) -> Delay { Delay(milliseconds: s * 1000) }
        public static func minutes(_ m: UInt64) -> Delay { Delay(milliseconds: m * 60_000) }
        public static func hours(_ h: UInt64) -> Delay { Delay(milliseconds: h * 3_600_000) }
    }

    /// One transition. A guard throws (an `AppError`) to refuse it; it sees the instance before the change.
    public struct Transition: Sendable {
        public let name: String
        public let from: Set<String>
        public let to: String
        public let role: Role
        /// Taken by the node this long after the instance entered one of `from`, if it is still there.
        public let after: Delay?
        /// The delay per instance (for example from the instance's data), instead of a fixed `after`.
        public let delay: (@Sendable (WorkflowInstance) -> Delay?)?
        public let guardCheck: (@Sendable (WorkflowInstance, Context) throws -> Void)?

        public init(_ name: String, from: Set<String>, to: String, by role: Role, after: Delay? = nil,
                    delay: (@Sendable (WorkflowInstance) -> Delay?)? = nil,
                    guard guardCheck: (@Sendable (WorkflowInstance, Context) throws -> Void)? = nil) {
            self.name = name
            self.from = from
            self.to = to
            self.role = after == nil && delay == nil ? role : .system
            self.after = after
            self.delay = delay
            self.guardCheck = guardCheck
        }
    }

    public let name: String
    public let initial: String
    public let transitions: [Transition]
    /// Whether each transition is emitted as `<app id>.<workflow>.<transition>` (the manifest must then request
    /// `events.publish` for it).
    public let emitsEvents: Bool
    /// Runs after every transition (timed ones included), in the same transaction: for the app's own bookkeeping.
    public let onTransition: (@Sendable (_ instance: WorkflowInstance, _ transition: String, Context) throws -> Void)?

    public init(_ name: String, initial: String, emitsEvents: Bool = true, transitions: [Transition],
                onTransition: (@Sendable (_ instance: WorkflowInstance, _ transition: String, Context) throws -> Void)? = nil) {
        self.name = name
        self.initial = initial
        self.emitsEvents = emitsEvents
        self.transitions = transitions
        self.onTransition = onTransition
    }

    /// Every state named by the workflow.
    public var states: Set<String> { transitions.reduce(into: [initial]) { $0.formUnion($1.from); $0.insert($1.to) } }

    /// Problems with the definition (unknown names, duplicate transitions, timed transitions not taken by the
    /// system), empty when it is sound. `SynApp` refuses to start with an unsound workflow.
    public var problems: [String] {
        var out: [String] = []
        var seen: Set<String> = []
        for t in transitions {
            if !seen.insert(t.name).inserted { out.append("workflow \(name): transition \(t.name) is defined twice") }
            if t.from.isEmpty { out.append("workflow \(name): transition \(t.name) has no source state") }
        }
        return out
    }
}

/// One instance of a workflow: its state, its two parties, its data (JSON) and its version.
public struct WorkflowInstance: Sendable, Equatable {
    public let workflow: String
    public let id: String
    public let state: String
    public let consumer: CallerKey?
    public let provider: CallerKey?
    /// The app's own JSON for the instance.
    public let data: [UInt8]
    public let version: Int
    public let updatedMs: Int64
}

/// One recorded transition.
public struct WorkflowStep: Sendable, Equatable, Codable {
    public let transition: String
    public let from: String
    public let to: String
    public let role: String
    /// The actor's key id, or `node` for a timed transition.
    public let actor: String
    public let atMs: Int64

    public init(transition: String, from: String, to: String, role: String, actor: String, atMs: Int64) {
        self.transition = transition
        self.from = from
        self.to = to
        self.role = role
        self.actor = actor
        self.atMs = atMs
    }
}
