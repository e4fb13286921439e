import FoundationEssentials
import PluginABI
#if canImport(Glibc)
import Glibc
#endif

/// A SynApp: its id, version, SQL migrations and routes. The app module declares one and exports it with two
/// lines (see `docs/synappkit.md`):
///
/// ```swift
/// let app = SynApp(id: "hello-kit", version: "1.0.0") { routes in
///     routes.method("greet") { (input: Greeting, context) in Greeted(text: "Hello, \(input.name)!") }
/// }
/// @_cdecl("synapp_magic") public func synappMagic() -> UnsafeRawPointer { app.magic }
/// @_cdecl("synapp_entry") public func synappEntry(_ h: UnsafeRawPointer?, _ m: UnsafeMutablePointer<UInt32>?,
///                                                 _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int32 {
///     app.entry(h, m, out)
/// }
/// ```
/// Immutable after `init`; `magic` points to static data that is never written again.
public final class SynApp: @unchecked Sendable {
    public let id: String
    public let version: String
    let migrations: [String]
    let workflows: [Workflow]
    /// How Swift property names appear in requests, responses and event payloads.
    public let jsonKeys: JSONKeys
    let routes: Routes
    let onInit: (@Sendable (Context) throws -> Void)?
    /// `syn_magic`, static for the life of the process.
    public let magic: UnsafeRawPointer

    /// `migrations` are SQL scripts applied in order, once each, when the app starts (each in the start's
    /// transaction, recorded in `syn_migrations`): append new ones, never edit old ones. `onInit` runs after them.
    /// `workflows` get their tables at start and their timed transitions fired by the SDK.
    public init(id: String, version: String, migrations: [String] = [], workflows: [Workflow] = [], jsonKeys: JSONKeys = .asDeclared,
                onInit: (@Sendable (Context) throws -> Void)? = nil, routes build: (inout Routes) -> Void) {
        self.jsonKeys = jsonKeys
        self.id = id
        self.version = version
        self.migrations = migrations
        self.workflows = workflows
        self.onInit = onInit
        var routes = Routes()
        build(&routes)
        self.routes = routes
        let magic = UnsafeMutablePointer<syn_magic>.allocate(capacity: 1)
        magic.initialize(to: syn_magic(size: UInt32(MemoryLayout<syn_magic>.size), abi_major: UInt32(SYN_ABI_MAJOR),
                                       abi_minor: UInt32(SYN_ABI_MINOR), app_id: strdup(id), app_version: strdup(version)))
        self.magic = UnsafeRawPointer(magic)
    }

    /// `synapp_entry`: keeps the host table and hands back the plugin table.
    public func entry(_ host: UnsafeRawPointer?, _ minor: UnsafeMutablePointer<UInt32>?,
                      _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int32 {
        guard let host, let minor, let out else { return SYN_E_BAD_ARG }
        Runtime.shared.install(app: self, host: host.assumingMemoryBound(to: syn_host.self))
        minor.pointee = min(minor.pointee, UInt32(SYN_ABI_MINOR))
        out.pointee = UnsafeRawPointer(Runtime.plugin)
        return SYN_OK
    }
}

/// JSON key style: property names as declared (`startMs`), or converted to snake case (`start_ms`).
public enum JSONKeys: Sendable {
    case asDeclared, snakeCase

    var decoder: JSONDecoder {
        let d = JSONDecoder()
        if self == .snakeCase { d.keyDecodingStrategy = .convertFromSnakeCase }
        return d
    }

    var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        if self == .snakeCase { e.keyEncodingStrategy = .convertToSnakeCase }
        return e
    }

    /// The running app's style.
    static var current: JSONKeys { Runtime.shared.app?.jsonKeys ?? .asDeclared }
}

/// The one app and host table of this worker, and the C entry points that dispatch into them.
final class Runtime: @unchecked Sendable {
    static let shared = Runtime()
    private(set) var app: SynApp?
    private(set) var table: UnsafePointer<syn_host>?

    func install(app: SynApp, host: UnsafePointer<syn_host>) {
        self.app = app
        table = host
    }

    nonisolated(unsafe) static let plugin: UnsafeMutablePointer<syn_plugin> = {
        let p = UnsafeMutablePointer<syn_plugin>.allocate(capacity: 1)
        var t = syn_plugin()
        t.size = UInt32(MemoryLayout<syn_plugin>.size)
        t.minor = UInt32(SYN_ABI_MINOR)
        t.`init` = { ctx, _ in Runtime.shared.initialize(ctx) }
        t.handle = { ctx, request, response in Runtime.shared.handle(ctx, request, response) }
        t.on_event = { ctx, event in Runtime.shared.event(ctx, event) }
        t.shutdown = nil
        p.initialize(to: t)
        return p
    }()

    private func context(_ ctx: OpaquePointer?, caller: [UInt8] = [], requestID: UInt64 = 0) -> (SynApp, Context)? {
        guard let app, let table, let ctx else { return nil }
        return (app, Context(host: Host(table: table, ctx: ctx), appID: app.id, caller: CallerKey(bytes: caller), requestID: requestID))
    }

    func initialize(_ ctx: OpaquePointer?) -> syn_status {
        guard let (app, context) = context(ctx) else { return SYN_E_INTERNAL }
        do {
            let problems = app.workflows.flatMap(\.problems)
            guard problems.isEmpty else { throw AppError(status: 500, code: "bad_workflow", problems.joined(separator: "; ")) }
            if !app.workflows.isEmpty { for statement in WorkflowStore.schema { try context.sql.exec(statement) } }
            if !app.workflows.isEmpty || !app.routes.due.isEmpty { for statement in Schedule.schema { try context.sql.exec(statement) } }
            try Migrations.apply(app.migrations, context)
            try app.onInit?(context)
            return SYN_OK
        } catch let error as HostError {
            // The host's status goes back as it is: a denial says which key would grant what init needs.
            context.log(.error, "init failed: \(error)")
            return error.status
        } catch {
            context.log(.error, "init failed: \(error)")
            return SYN_E_INTERNAL
        }
    }

    func handle(_ ctx: OpaquePointer?, _ request: UnsafePointer<syn_request>?, _ response: UnsafeMutablePointer<syn_response>?) -> syn_status {
        guard let request, let response else { return SYN_E_BAD_ARG }
        let r = request.pointee
        guard let (app, plain) = context(ctx, caller: Host.bytes(r.caller), requestID: r.request_id) else { return SYN_E_INTERNAL }
        let method = String(decoding: Host.bytes(r.method), as: UTF8.self)
        let call = CallState()
        var context = plain
        context.host.call = call
        var (status, body): (Int, [UInt8]) = (500, [])
        if let handler = app.routes.methods[method] {
            do {
                (status, body) = try handler(Host.bytes(r.body), context)
                do throws(HostError) {
                    let events = Events(host: context.host)
                    for event in call.events { try events.send(event.type, event.payload) }
                    for timer in call.timers { try events.sendTimer(timer.delayMs, timer.payload) }
                } catch {
                    // Some already reached the node's outbox: the 500 makes the node drop them with the writes.
                    (status, body) = Self.answer(AppError(status: 500, code: error.appError.code, "\(error)"), context)
                }
            } catch {
                // The error's 4xx or 5xx makes the node roll the call's writes back; nothing is announced or scheduled.
                (status, body) = Self.answer(error, context)
            }
        } else {
            (status, body) = Self.answer(AppError.notFound("no method '\(method)' in app '\(app.id)'"), context)
        }
        guard let out = context.host.arena(body) else { return SYN_E_TOO_LARGE }
        response.pointee = syn_response(status: UInt32(clamping: status), body: out)
        return SYN_OK
    }

    /// Any error as a status and the JSON error body. Anything but a 2xx or 3xx rolls the call's writes back (the
    /// node's rule).
    static func answer(_ error: any Error, _ context: Context) -> (Int, [UInt8]) {
        let e: AppError
        switch error {
        case let app as AppError: e = app
        case let host as HostError: e = host.appError
        case let decoding as DecodingError: e = .badRequest(Routes.describe(decoding), code: "bad_input")
        default: e = AppError(status: 500, code: "internal", "\(error)")
        }
        if e.status >= 500 { context.log(.error, "\(e)") }
        let body = "{\"error\":{\"code\":\(JSONText.quote(e.code)),\"message\":\(JSONText.quote(e.message))}}"
        return (e.status, Array(body.utf8))
    }

    func event(_ ctx: OpaquePointer?, _ event: UnsafePointer<syn_event>?) -> syn_status {
        guard let event, let (app, context) = context(ctx) else { return SYN_E_BAD_ARG }
        let e = event.pointee
        let payload = Host.bytes(e.payload)
        do {
            switch Int32(e.kind) {
            case SYN_EVENT_TIMER:
                if let fired = try? JSONDecoder().decode(DueWakeUp.self, from: Data(payload)) {
                    try context.schedule.wake(fired, app.routes.due.merging(app.workflows.isEmpty ? [:] : [WorkflowStore.dueKind: WorkflowStore.dueHandler(app.workflows)]) { a, _ in a })
                    return SYN_OK
                }
                // A timed transition set by an earlier version (one node timer per instance).
                if let fired = try? JSONDecoder().decode(WorkflowTimer.self, from: Data(payload)) {
                    // A timed transition: taken only if the instance has not moved since it was scheduled.
                    guard let workflow = app.workflows.first(where: { $0.name == fired.synappkitWorkflow }) else { return SYN_OK }
                    do {
                        _ = try context.workflow(workflow).take(fired.transition, on: fired.id, actor: nil, system: true,
                                                                 expectedVersion: fired.version)
                    } catch let refusal as AppError where refusal.status < 500 {
                        context.log(.info, "timed \(workflow.name) \(fired.transition) on \(fired.id) not taken: \(refusal.message)")
                    }
                    return SYN_OK
                }
                guard let timer = app.routes.timer else { return SYN_OK }
                try timer(payload, e.token, context)
            case SYN_EVENT_PEER:
                guard let handler = app.routes.peer else { return SYN_OK }
                let peer = String(decoding: Host.bytes(e.topic), as: UTF8.self)
                // A refused message is dropped with nothing the handler wrote before refusing it (an app without
                // `storage.sql` has no savepoint: what it wrote before refusing stays).
                let guarded = (try? context.sql.exec("SAVEPOINT synappkit_peer_message")) != nil
                do {
                    try handler(payload, peer, context)
                } catch let refusal as AppError where refusal.status < 500 {
                    if guarded { try context.sql.exec("ROLLBACK TO synappkit_peer_message") }
                    context.log(.warn, "a message from peer \(peer) was dropped: \(refusal)")
                }
                if guarded { try context.sql.exec("RELEASE synappkit_peer_message") }
            case SYN_EVENT_TOPIC:
                let topic = String(decoding: Host.bytes(e.topic), as: UTF8.self)
                for (pattern, handler) in app.routes.topics where Routes.matches(pattern, topic) {
                    do { try handler(topic, payload, context) } catch let refusal as AppError where refusal.status < 500 {
                        context.log(.debug, "a message on \(topic) was dropped: \(refusal)")
                    }
                }
            case SYN_EVENT_DOMAIN:
                let type = String(decoding: Host.bytes(e.topic), as: UTF8.self)
                for (pattern, handler) in app.routes.events where Routes.matches(pattern, type) {
                    try handler(type, payload, e.token, context)
                }
            default:
                return SYN_OK
            }
            return SYN_OK
        } catch {
            // Not SYN_OK: the node rolls the writes back and delivers again later.
            context.log(.error, "event handler failed: \(error)")
            return SYN_E_INTERNAL
        }
    }
}
