import FoundationEssentials

extension Context {
    /// The instances of `workflow` in this app's database.
    public func workflow(_ workflow: Workflow) -> WorkflowStore { WorkflowStore(workflow: workflow, context: self) }
}

/// Creates workflow instances, takes transitions (checking role, state, guard and version), and reads history.
public struct WorkflowStore: Sendable {
    public let workflow: Workflow
    let context: Context

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS syn_workflow (workflow TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL,
            consumer TEXT, provider TEXT, data BLOB NOT NULL, version INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
            PRIMARY KEY (workflow, id)) WITHOUT ROWID
        """,
        """
        CREATE TABLE IF NOT EXISTS syn_workflow_log (workflow TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
            transition TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL, role TEXT NOT NULL,
            actor TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY (workflow, id, seq)) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS syn_workflow_consumer ON syn_workflow(workflow, consumer)",
        "CREATE INDEX IF NOT EXISTS syn_workflow_provider ON syn_workflow(workflow, provider)",
    ]

    /// A new instance in the initial state; 409 if `id` exists. Timed transitions out of the initial state are
    /// scheduled.
    @discardableResult
    public func create<T: Encodable>(id: String, consumer: CallerKey?, provider: CallerKey?, data: T,
                                     by actor: CallerKey?) throws -> WorkflowInstance {
        let json = Array(try JSONEncoder().encode(data))
        let now = context.nowMs
        if try context.sql.first("SELECT 1 FROM syn_workflow WHERE workflow = ? AND id = ?", [.text(workflow.name), .text(id)]) != nil {
            throw AppError.conflict("\(workflow.name) \(id) already exists")
        }
        try context.sql.exec("""
            INSERT INTO syn_workflow(workflow, id, state, consumer, provider, data, version, updated_ms)
            VALUES (?, ?, ?, ?, ?, ?, 1, ?)
            """, [.text(workflow.name), .text(id), .text(workflow.initial), SQLValue(consumer?.id), SQLValue(provider?.id),
                  .blob(json), .integer(now)])
        let instance = WorkflowInstance(workflow: workflow.name, id: id, state: workflow.initial, consumer: consumer,
                                        provider: provider, data: json, version: 1, updatedMs: now)
        // The creator's role: the node when no caller, else which side they are (or "other", creating for others).
        let role = actor == nil ? "system" : actor == consumer ? "consumer" : actor == provider ? "provider" : "other"
        try record(instance, transition: "create", from: "", role: role, actor: actor?.id ?? "node", at: now)
        try schedule(instance)
        return instance
    }

    /// The instance, or nil.
    public func get(_ id: String) throws(HostError) -> WorkflowInstance? {
        guard let row = try context.sql.first("""
            SELECT state, consumer, provider, data, version, updated_ms FROM syn_workflow WHERE workflow = ? AND id = ?
            """, [.text(workflow.name), .text(id)]) else { return nil }
        return WorkflowInstance(workflow: workflow.name, id: id, state: row.text(0) ?? "",
                                consumer: row.text(1).flatMap(CallerKey.init), provider: row.text(2).flatMap(CallerKey.init),
                                data: row.blob(3) ?? [], version: row.int(4) ?? 0, updatedMs: Int64(row.int(5) ?? 0))
    }

    /// The instance's data decoded as `T`.
    public func data<T: Decodable>(_ instance: WorkflowInstance, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(instance.data))
    }

    /// Replaces the instance's data without changing its state (only if it is still at `instance.version`).
    @discardableResult
    public func update<T: Encodable>(_ instance: WorkflowInstance, data: T) throws -> WorkflowInstance {
        let json = Array(try JSONEncoder().encode(data))
        let changed = try context.sql.exec("""
            UPDATE syn_workflow SET data = ?, version = version + 1, updated_ms = ? WHERE workflow = ? AND id = ? AND version = ?
            """, [.blob(json), .integer(context.nowMs), .text(workflow.name), .text(instance.id), .integer(Int64(instance.version))])
        guard changed == 1 else { throw AppError.conflict("\(workflow.name) \(instance.id) changed meanwhile; retry", code: "concurrent_change") }
        return try get(instance.id) ?? instance
    }

    /// Takes `transition` on instance `id` as `actor`: 404 unknown instance, 400 unknown transition, 403 wrong
    /// role (naming the role required), 409 wrong state or a concurrent change, or the guard's own error.
    @discardableResult
    public func take(_ transition: String, on id: String, by actor: CallerKey?) throws -> WorkflowInstance {
        try take(transition, on: id, actor: actor, system: false, expectedVersion: nil)
    }

    /// Takes `transition` as `actor` acting in `role`, which the app has established itself (for example: the
    /// caller manages the provider's Space). The transition must still allow that role; history records `actor`.
    @discardableResult
    public func take(_ transition: String, on id: String, by actor: CallerKey, acting role: Workflow.Role) throws -> WorkflowInstance {
        try take(transition, on: id, actor: actor, system: false, expectedVersion: nil, assumed: role)
    }

    /// The recorded transitions of instance `id`, oldest first.
    public func history(_ id: String) throws(HostError) -> [WorkflowStep] {
        try context.sql.query("""
            SELECT transition, from_state, to_state, role, actor, at_ms FROM syn_workflow_log
            WHERE workflow = ? AND id = ? ORDER BY seq
            """, [.text(workflow.name), .text(id)]).map {
            WorkflowStep(transition: $0.text(0) ?? "", from: $0.text(1) ?? "", to: $0.text(2) ?? "", role: $0.text(3) ?? "",
                         actor: $0.text(4) ?? "", atMs: Int64($0.int(5) ?? 0))
        }
    }

    func take(_ name: String, on id: String, actor: CallerKey?, system: Bool, expectedVersion: Int?,
              assumed: Workflow.Role? = nil) throws -> WorkflowInstance {
        guard let instance = try get(id) else { throw AppError.notFound("no \(workflow.name) \(id)") }
        guard let t = workflow.transitions.first(where: { $0.name == name }) else {
            throw AppError.badRequest("\(workflow.name) has no transition '\(name)'", code: "unknown_transition")
        }
        if let expectedVersion, instance.version != expectedVersion { return instance }
        let role: String
        if let assumed, assumed != .system {
            guard t.role == assumed || (t.role == .party && (assumed == .consumer || assumed == .provider)) else {
                throw AppError.forbidden(t.role == .system ? "only the node takes '\(name)' (it is timed)"
                                                            : "only the \(workflow.name)'s \(t.role.rawValue) may \(name) it")
            }
            role = assumed.rawValue
        } else {
        switch t.role {
        case .system:
            guard system else { throw AppError.forbidden("only the node takes '\(name)' (it is timed)") }
            role = "system"
        case .consumer:
            guard let actor, actor == instance.consumer else { throw AppError.forbidden("only the \(workflow.name)'s consumer may \(name) it") }
            role = "consumer"
        case .provider:
            guard let actor, actor == instance.provider else { throw AppError.forbidden("only the \(workflow.name)'s provider may \(name) it") }
            role = "provider"
        case .party:
            guard let actor, actor == instance.consumer || actor == instance.provider else {
                throw AppError.forbidden("only a party to the \(workflow.name) may \(name) it")
            }
            role = actor == instance.consumer ? "consumer" : "provider"
        }
        }
        guard t.from.contains(instance.state) else {
            throw AppError.conflict("cannot \(name) a \(workflow.name) that is \(instance.state)", code: "invalid_state")
        }
        try t.guardCheck?(instance, context)
        let now = context.nowMs
        let changed = try context.sql.exec("""
            UPDATE syn_workflow SET state = ?, version = version + 1, updated_ms = ? WHERE workflow = ? AND id = ? AND version = ?
            """, [.text(t.to), .integer(now), .text(workflow.name), .text(id), .integer(Int64(instance.version))])
        guard changed == 1 else { throw AppError.conflict("\(workflow.name) \(id) changed meanwhile; retry", code: "concurrent_change") }
        let next = WorkflowInstance(workflow: workflow.name, id: id, state: t.to, consumer: instance.consumer,
                                    provider: instance.provider, data: instance.data, version: instance.version + 1, updatedMs: now)
        try record(next, transition: name, from: instance.state, role: role, actor: actor?.id ?? "node", at: now)
        try schedule(next)
        try workflow.onTransition?(next, name, context)
        return next
    }

    private func record(_ instance: WorkflowInstance, transition: String, from: String, role: String, actor: String, at now: Int64) throws {
        try context.sql.exec("""
            INSERT INTO syn_workflow_log(workflow, id, seq, transition, from_state, to_state, role, actor, at_ms)
            VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM syn_workflow_log WHERE workflow = ? AND id = ?), ?, ?, ?, ?, ?, ?)
            """, [.text(workflow.name), .text(instance.id), .text(workflow.name), .text(instance.id), .text(transition),
                  .text(from), .text(instance.state), .text(role), .text(actor), .integer(now)])
        if workflow.emitsEvents {
            try context.events.emit("\(context.appID).\(workflow.name).\(transition)",
                                    WorkflowEvent(id: instance.id, transition: transition, from: from, to: instance.state, actor: actor))
        }
    }

    /// The timed transitions out of the instance's new state, as due work in the app's database (one node timer
    /// for the whole app); each is taken only if the instance is still at this version then. What the instance had
    /// scheduled from its previous state is forgotten.
    private func schedule(_ instance: WorkflowInstance) throws {
        let prefix = "\(workflow.name)/\(instance.id)/"
        try context.schedule.cancel(Self.dueKind, keyPrefix: prefix)
        for t in workflow.transitions where (t.after != nil || t.delay != nil) && t.from.contains(instance.state) {
            guard let delay = t.delay?(instance) ?? t.after else { continue }
            try context.schedule.at(context.nowMs + Int64(min(delay.milliseconds, UInt64(Int64.max / 2))), Self.dueKind, key: prefix + t.name,
                                    WorkflowTimer(synappkitWorkflow: workflow.name, id: instance.id, transition: t.name,
                                                  version: instance.version))
        }
    }

    /// The kind of due work that timed transitions are.
    static let dueKind = "synappkit.workflow"

    /// Takes a due timed transition, if its instance has not moved since it was scheduled.
    static func dueHandler(_ workflows: [Workflow]) -> Routes.DueHandler {
        { payload, _, context in
            guard let fired = try? JSONKeys.current.decoder.decode(WorkflowTimer.self, from: Data(payload)),
                  let workflow = workflows.first(where: { $0.name == fired.synappkitWorkflow }) else { return }
            do {
                _ = try context.workflow(workflow).take(fired.transition, on: fired.id, actor: nil, system: true, expectedVersion: fired.version)
            } catch let refusal as AppError where refusal.status < 500 {
                context.log(.info, "timed \(workflow.name) \(fired.transition) on \(fired.id) not taken: \(refusal.message)")
            }
        }
    }
}

/// The event payload of a transition.
struct WorkflowEvent: Codable, Sendable {
    let id: String
    let transition: String
    let from: String
    let to: String
    let actor: String
}

/// The timer payload of a timed transition.
struct WorkflowTimer: Codable, Sendable {
    let synappkitWorkflow: String
    let id: String
    let transition: String
    let version: Int
}
