import FoundationEssentials
import SynAppKit
import SynSpaces

/// A courier to offer a delivery to: their node and their courier Space there.
struct CourierRef: Codable, Sendable, Equatable {
    var node: String
    var spaceId: String
}

struct OfferInput: Codable, Sendable {
    var orderId: String
    /// Tried in order: the next one gets the offer when one declines or lets it time out.
    var couriers: [CourierRef]
}

/// One message between the FoodMesh apps of a store's node and a courier's node (`Net.send`).
/// - `offer` (store → courier): a delivery to take, with where from, where to and the fee;
/// - `withdraw` (store → courier): the offer or job is off (timed out, or the order ended);
/// - `status` (courier → store): the job's new state: accepted, declined, picked_up or delivered.
struct DeliveryMessage: Codable, Sendable, Equatable {
    var type: String
    var deliveryId: String
    var courierSpace: String?
    var orderId: String?
    var store: Stop?
    var dropoff: Stop?
    var fee: Int?
    var currency: String?
    var state: String?
    var reason: String?
}

/// A place a courier goes to.
struct Stop: Codable, Sendable, Equatable {
    var name: String
    var address: String
    var lat: Double
    var lon: Double
}

/// A delivery as the store sees it.
struct DeliveryView: Codable, Sendable, Equatable {
    var id: String
    var orderId: String
    var courierNode: String
    var courierSpace: String
    /// offered, accepted, picked_up, delivered, declined or withdrawn.
    var state: String
    var attempt: Int
    var reason: String?
    var updatedMs: Int64
}

/// A job as the courier sees it (the `delivery` workflow's instance on the courier's node).
struct JobData: Codable, Sendable {
    var originNode: String
    var deliveryId: String
    var courierSpace: String
    var orderId: String
    var store: Stop
    var dropoff: Stop
    var fee: Int
    var currency: String
}

struct JobView: Codable, Sendable {
    var id: String
    var state: String
    var originNode: String
    var deliveryId: String
    var courierSpace: String
    var orderId: String
    var store: Stop
    var dropoff: Stop
    var fee: Int
    var currency: String
    var history: [WorkflowStep]
}

struct JobRef: Codable, Sendable { var jobId: String }

struct JobTransition: Codable, Sendable {
    var jobId: String
    /// accept, decline, pick_up or deliver.
    var transition: String
}

struct JobsQuery: Codable, Sendable {
    var spaceId: String
    var state: String?
}

struct JobList: Codable, Sendable { var jobs: [JobView] }

struct DeliveryList: Codable, Sendable { var deliveries: [DeliveryView] }

/// Deliveries composed across nodes with no platform between them. A store offers an order's delivery to a
/// courier's FoodMesh on another node (`net_send`); the courier's node makes it a job (offered → accepted →
/// picked_up → delivered, or declined), and each step goes back to the store's node, where the order follows
/// (out for delivery when picked up, delivered when delivered). A courier who declines or lets the offer time
/// out passes it to the next one the store named; when none is left, the order's delivery fee is refunded. Both
/// nodes converge after a partition: messages arrive once and in order, and each carries the state it reached.
enum Deliveries {
    /// Due work: an offer's time limit.
    static let offerKind = "foodmesh.offer"
    /// Open jobs one store's node may give a courier's node at once: past it, offers are declined.
    static let maxOpenJobsPerNode = 200

    /// States of the store's record in which a courier has the delivery.
    static let live: Set<String> = ["offered", "accepted", "picked_up"]

    /// The courier's side. The store's node is the job's consumer (its node id as a key): only it withdraws.
    static let workflow = Workflow("delivery", initial: "offered", transitions: [
        .init("accept", from: ["offered"], to: "accepted", by: .provider),
        .init("decline", from: ["offered"], to: "declined", by: .provider),
        .init("pick_up", from: ["accepted"], to: "picked_up", by: .provider),
        .init("deliver", from: ["picked_up"], to: "delivered", by: .provider),
        .init("withdraw", from: ["offered", "accepted"], to: "withdrawn", by: .consumer),
    ], onTransition: { instance, transition, context in
        guard transition != "withdraw" else { return }
        let job = try JSONDecoder().decode(JobData.self, from: Data(instance.data))
        try context.net.send(to: job.originNode, DeliveryMessage(type: "status", deliveryId: job.deliveryId, state: instance.state))
    })

    static func register(_ routes: inout Routes) {
        routes.method("deliveries.offer") { (input: OfferInput, context) -> DeliveryView in
            let caller = try context.requireCaller()
            let (instance, data) = try Orders.load(input.orderId, context)
            guard try Orders.role(of: caller, instance, data, context) == .provider else { throw AppError.forbidden("only the store offers its deliveries") }
            guard data.fulfilment.type == "delivery" else { throw AppError.conflict("order \(instance.id) is collected, not delivered", code: "not_delivery") }
            guard ["accepted", "preparing", "ready"].contains(instance.state) else {
                throw AppError.conflict("a delivery is offered once the order is accepted and before it leaves (it is \(instance.state))", code: "invalid_state")
            }
            guard (1...10).contains(input.couriers.count) else { throw AppError.badRequest("couriers must list 1 to 10 couriers", code: "invalid_field") }
            for (i, c) in input.couriers.enumerated() {
                guard CallerKey(c.node) != nil else { throw AppError.badRequest("couriers[\(i)].node must be a node id (base64url)", code: "invalid_field") }
                try Validate.text(c.spaceId, "couriers[\(i)].space_id", max: 64)
            }
            if let current = try current(instance.id, context), live.contains(current.state) {
                throw AppError.conflict("courier \(current.courierNode) has this delivery (\(current.state))", code: "delivery_live")
            }
            let store = try Stores.load(data.storeId, context)
            let id = context.newID(), now = context.nowMs
            try context.sql.exec("""
                INSERT INTO deliveries(id, order_id, store_id, courier_node, courier_space, state, attempt, remaining, offered_ms, updated_ms)
                VALUES (?, ?, ?, '', '', 'new', 0, ?, ?, ?)
                """, [.text(id), .text(instance.id), .text(store.id), .text(try Stores.json(input.couriers)), .integer(now), .integer(now)])
            try offerNext(id, context)
            return try view(id, context)
        }
        routes.method("deliveries.list") { (input: OrderRef, context) -> DeliveryList in
            let caller = try context.requireCaller()
            let (instance, data) = try Orders.load(input.orderId, context)
            _ = try Orders.role(of: caller, instance, data, context)
            let rows = try context.sql.query("SELECT id FROM deliveries WHERE order_id = ? AND state <> 'new' ORDER BY offered_ms", [.text(instance.id)])
            return DeliveryList(deliveries: try rows.map { try view($0.text(0) ?? "", context) })
        }
        routes.method("jobs.list") { (input: JobsQuery, context) -> JobList in
            let store = try Stores.managed(input.spaceId, context)
            let rows = try context.sql.query("SELECT job_id FROM courier_jobs WHERE space_id = ? ORDER BY created_ms DESC LIMIT 200", [.text(store.id)])
            var jobs: [JobView] = []
            for r in rows {
                let job = try jobView(r.text(0) ?? "", context)
                if input.state == nil || input.state == job.state { jobs.append(job) }
            }
            return JobList(jobs: jobs)
        }
        routes.method("jobs.get") { (input: JobRef, context) -> JobView in
            let job = try jobView(input.jobId, context)
            _ = try Stores.managed(job.courierSpace, context)
            return job
        }
        routes.method("jobs.transition") { (input: JobTransition, context) -> JobView in
            let caller = try context.requireCaller()
            let job = try jobView(input.jobId, context)
            guard try SpaceManagers.isManager(caller, of: job.courierSpace, context) else { throw AppError.notFound("no job \(input.jobId)") }
            guard input.transition != "withdraw" else { throw AppError.forbidden("only the store's node withdraws a job") }
            try context.workflow(workflow).take(input.transition, on: job.id, by: caller, acting: .provider)
            return try jobView(job.id, context)
        }
    }

    // MARK: - The store's side

    /// The order's latest delivery, if any.
    static func current(_ orderID: String, _ context: Context) throws -> DeliveryView? {
        try context.sql.first("""
            SELECT \(columns) FROM deliveries WHERE order_id = ? AND state <> 'new' ORDER BY offered_ms DESC, attempt DESC LIMIT 1
            """, [.text(orderID)]).map(decode)
    }

    static func view(_ id: String, _ context: Context) throws -> DeliveryView {
        guard let r = try context.sql.first("SELECT \(columns) FROM deliveries WHERE id = ?", [.text(id)]) else {
            throw AppError.notFound("no delivery \(id)")
        }
        return decode(r)
    }

    /// The columns `decode` reads, in its order.
    static let columns = "id, order_id, courier_node, courier_space, state, attempt, reason, updated_ms"

    static func decode(_ r: Row) -> DeliveryView {
        DeliveryView(id: r.text(0) ?? "", orderId: r.text(1) ?? "", courierNode: r.text(2) ?? "", courierSpace: r.text(3) ?? "",
                     state: r.text(4) ?? "", attempt: r.int(5) ?? 0, reason: r.text(6), updatedMs: Int64(r.int(7) ?? 0))
    }

    /// Offers delivery `id` to the next courier on its list, or, with none left, gives up: the order's delivery fee
    /// is refunded and the store may deliver it itself.
    static func offerNext(_ id: String, _ context: Context) throws {
        guard let r = try context.sql.first("SELECT order_id, remaining, attempt FROM deliveries WHERE id = ?", [.text(id)]) else { return }
        var remaining = try JSONDecoder().decode([CourierRef].self, from: Data((r.text(1) ?? "[]").utf8))
        let orderID = r.text(0) ?? "", attempt = (r.int(2) ?? 0) + 1
        let (instance, data) = try Orders.load(orderID, context)
        guard !remaining.isEmpty, ["accepted", "preparing", "ready"].contains(instance.state) else {
            try context.sql.exec("UPDATE deliveries SET state = CASE state WHEN 'new' THEN 'declined' ELSE state END, updated_ms = ? WHERE id = ?",
                                 [.integer(context.nowMs), .text(id)])
            if ["accepted", "preparing", "ready"].contains(instance.state) { try Payments.waiveDeliveryFee(instance.id, data, context) }
            try context.events.emit("foodmesh.delivery.unassigned", OrderRef(orderId: orderID))
            return
        }
        let courier = remaining.removeFirst()
        let store = try Stores.load(data.storeId, context)
        try context.sql.exec("""
            UPDATE deliveries SET courier_node = ?, courier_space = ?, state = 'offered', attempt = ?, remaining = ?, reason = NULL,
                                  offered_ms = ?, updated_ms = ? WHERE id = ?
            """, [.text(courier.node), .text(courier.spaceId), SQLValue(attempt), .text(try Stores.json(remaining)),
                  .integer(context.nowMs), .integer(context.nowMs), .text(id)])
        let point = data.fulfilment.point ?? Point(lat: 0, lon: 0)
        do {
            try context.net.send(to: courier.node, DeliveryMessage(
                type: "offer", deliveryId: id, courierSpace: courier.spaceId, orderId: orderID,
                store: Stop(name: store.name, address: store.location.city, lat: store.location.lat, lon: store.location.lon),
                dropoff: Stop(name: "customer", address: data.fulfilment.address ?? "", lat: point.lat, lon: point.lon),
                fee: data.deliveryFee, currency: data.currency))
        } catch let refused as HostError {
            // A node this one cannot send to (not a peer, or not granted): as good as a decline; the next one gets it.
            try context.sql.exec("UPDATE deliveries SET state = 'declined', reason = ?, updated_ms = ? WHERE id = ?",
                                 [.text("cannot reach node \(courier.node): \(refused.message)".prefix(300).description), .integer(context.nowMs), .text(id)])
            try context.events.emit("foodmesh.delivery.declined", DeliveryEvent(deliveryId: id, orderId: orderID, courierNode: courier.node))
            return try offerNext(id, context)
        }
        try context.schedule.at(context.nowMs + Int64(store.offerMinutes) * 60_000, offerKind, key: id, OfferTimeout(attempt: attempt))
        try context.events.emit("foodmesh.delivery.offered", DeliveryEvent(deliveryId: id, orderId: orderID, courierNode: courier.node))
    }

    /// The offer's time is up: if the courier has not answered, it is withdrawn from them and goes to the next.
    static func offerTimer(_ id: String, attempt: Int, _ context: Context) throws {
        let d = try view(id, context)
        guard d.state == "offered", d.attempt == attempt else { return }
        try withdraw(d, reason: "no answer in time", context)
        try offerNext(id, context)
    }

    static func withdraw(_ d: DeliveryView, reason: String, _ context: Context) throws {
        try context.sql.exec("UPDATE deliveries SET state = 'withdrawn', reason = ?, updated_ms = ? WHERE id = ?",
                             [.text(reason), .integer(context.nowMs), .text(d.id)])
        // A courier the node can no longer reach is not told; the job stays withdrawn here.
        do { try context.net.send(to: d.courierNode, DeliveryMessage(type: "withdraw", deliveryId: d.id, reason: reason)) } catch let refused as HostError {
            context.log(.warn, "delivery \(d.id) withdrawn without telling node \(d.courierNode): \(refused.message)")
        }
        try context.events.emit("foodmesh.delivery.withdrawn", DeliveryEvent(deliveryId: d.id, orderId: d.orderId, courierNode: d.courierNode))
    }

    /// The order ended (cancelled, rejected): a courier who has its delivery is told.
    static func orderEnded(_ orderID: String, _ context: Context) throws {
        if let d = try current(orderID, context), d.state == "offered" || d.state == "accepted" {
            try withdraw(d, reason: "the order was cancelled", context)
        }
    }

    /// A courier's news about delivery `id`, from node `peer`: the store's record and the order follow it.
    static func status(_ message: DeliveryMessage, from peer: String, _ context: Context) throws {
        let d = try view(message.deliveryId, context)
        guard d.courierNode == peer else { throw AppError.forbidden("delivery \(d.id) is not node \(peer)'s") }
        let state = message.state ?? ""
        // A job the store has withdrawn already (timed out): the courier is told again, nothing else moves.
        guard d.state != "withdrawn" else {
            if state == "accepted" { try context.net.send(to: peer, DeliveryMessage(type: "withdraw", deliveryId: d.id, reason: d.reason ?? "withdrawn")) }
            return
        }
        if let reason = message.reason { try Validate.text(reason, "reason", max: 300, allowEmpty: true) }
        let allowed: [String: Set<String>] = ["accepted": ["offered"], "declined": ["offered"], "picked_up": ["accepted"], "delivered": ["picked_up"]]
        guard let from = allowed[state], from.contains(d.state) else {
            throw AppError.conflict("delivery \(d.id) is \(d.state); \(state) does not follow", code: "invalid_state")
        }
        try context.sql.exec("UPDATE deliveries SET state = ?, reason = ?, updated_ms = ? WHERE id = ?",
                             [.text(state), SQLValue(message.reason), .integer(context.nowMs), .text(d.id)])
        try context.events.emit("foodmesh.delivery.\(state)", DeliveryEvent(deliveryId: d.id, orderId: d.orderId, courierNode: peer))
        guard let courier = CallerKey(peer) else { return }
        let orders = context.workflow(Orders.workflow)
        switch state {
        case "declined":
            try offerNext(d.id, context)
        case "picked_up":
            // The courier has the goods: the order is on its way (ready first, if the store had not said so).
            // A step the order refuses (a prepaid order not paid yet) leaves it where it is: the delivery's state is
            // the courier's news, kept either way, and the store moves the order by hand.
            do {
                for step in ["prepare", "ready", "dispatch"] {
                    guard let order = try orders.get(d.orderId), order.state != "out_for_delivery" else { break }
                    let from = Orders.workflow.transitions.first { $0.name == step }?.from ?? []
                    if from.contains(order.state) { try orders.take(step, on: order.id, by: courier, acting: .provider) }
                }
            } catch let refused as AppError where refused.status < 500 {
                context.log(.warn, "order \(d.orderId) did not follow its courier's pickup: \(refused.message)")
            }
        case "delivered":
            if let order = try orders.get(d.orderId), order.state == "out_for_delivery" {
                try orders.take("deliver", on: order.id, by: courier, acting: .provider)
            }
        default: break
        }
    }

    // MARK: - The courier's side

    /// An offer from a store's node: a new job for the courier Space it names, or a decline saying why not.
    static func offer(_ message: DeliveryMessage, from peer: String, _ context: Context) throws {
        // Everything in a peer's message is checked as a client's input is (a 4xx drops the message).
        try Validate.text(message.deliveryId, "delivery_id", max: 64)
        if let job = try context.sql.first("SELECT job_id FROM courier_jobs WHERE origin_node = ? AND delivery_id = ?",
                                           [.text(peer), .text(message.deliveryId)])?.text(0) {
            // Offered again (the store's list named this node twice): a job still open stands; a closed one is
            // replaced by the new offer.
            guard let instance = try context.workflow(workflow).get(job), ["declined", "withdrawn"].contains(instance.state) else { return }
            try context.sql.exec("DELETE FROM courier_jobs WHERE origin_node = ? AND delivery_id = ?", [.text(peer), .text(message.deliveryId)])
        }
        func decline(_ reason: String) throws {
            try context.net.send(to: peer, DeliveryMessage(type: "status", deliveryId: message.deliveryId, state: "declined", reason: reason))
        }
        guard let spaceID = message.courierSpace, let store = message.store, let dropoff = message.dropoff, let fee = message.fee,
              let currency = message.currency, let orderID = message.orderId else { return try decline("the offer is incomplete") }
        try Validate.text(spaceID, "courier_space", max: 64)
        try Validate.text(orderID, "order_id", max: 64)
        for (stop, field) in [(store, "store"), (dropoff, "dropoff")] {
            try Validate.text(stop.name, field + ".name", max: 200, allowEmpty: true)
            try Validate.text(stop.address, field + ".address", max: 300, allowEmpty: true)
            try Validate.point(lat: stop.lat, lon: stop.lon, field)
        }
        try Validate.amount(fee, "fee")
        try Validate.currency(currency, "currency")
        let open = try context.sql.first("""
            SELECT count(*) FROM courier_jobs c JOIN syn_workflow w ON w.workflow = 'delivery' AND w.id = c.job_id
            WHERE c.origin_node = ? AND w.state IN ('offered', 'accepted', 'picked_up')
            """, [.text(peer)])?.int(0) ?? 0
        guard open < Self.maxOpenJobsPerNode else { return try decline("this courier has \(open) open jobs from your node already") }
        guard let courier = try? Stores.load(spaceID, context), courier.kind == "courier" else { return try decline("no courier Space \(spaceID) here") }
        guard currency == courier.currency else { return try decline("this courier is paid in \(courier.currency)") }
        // The courier's fee rules: their zones around their own place, and the fee each needs.
        func zone(_ stop: Stop) -> DeliveryZone? {
            let km = SearchScore.km(fromLat: courier.location.lat, lon: courier.location.lon, toLat: stop.lat, lon: stop.lon)
            return courier.deliveryZones.filter { ($0.radiusKm ?? -1) >= km }.min { $0.fee < $1.fee }
        }
        guard let pickupZone = zone(store), let dropZone = zone(dropoff) else { return try decline("outside the courier's area") }
        let needed = max(pickupZone.fee, dropZone.fee)
        guard fee >= needed else { return try decline("the fee \(fee) is below this courier's \(needed)") }
        guard let origin = CallerKey(peer) else { return }
        let id = context.newID()
        let job = JobData(originNode: peer, deliveryId: message.deliveryId, courierSpace: courier.id, orderId: orderID, store: store,
                          dropoff: dropoff, fee: fee, currency: currency)
        try context.workflow(workflow).create(id: id, consumer: origin, provider: nil, data: job, by: origin)
        try context.sql.exec("INSERT INTO courier_jobs(origin_node, delivery_id, job_id, space_id, created_ms) VALUES (?, ?, ?, ?, ?)",
                             [.text(peer), .text(message.deliveryId), .text(id), .text(courier.id), .integer(context.nowMs)])
    }

    /// The store's node takes its offer back.
    static func withdrawn(_ message: DeliveryMessage, from peer: String, _ context: Context) throws {
        guard let row = try context.sql.first("SELECT job_id FROM courier_jobs WHERE origin_node = ? AND delivery_id = ?",
                                              [.text(peer), .text(message.deliveryId)]), let origin = CallerKey(peer) else { return }
        let jobs = context.workflow(workflow)
        guard let job = try jobs.get(row.text(0) ?? ""), ["offered", "accepted"].contains(job.state) else { return }
        try jobs.take("withdraw", on: job.id, by: origin)
    }

    static func jobView(_ id: String, _ context: Context) throws -> JobView {
        guard let instance = try context.workflow(workflow).get(id) else { throw AppError.notFound("no job \(id)") }
        let job = try JSONDecoder().decode(JobData.self, from: Data(instance.data))
        return JobView(id: id, state: instance.state, originNode: job.originNode, deliveryId: job.deliveryId, courierSpace: job.courierSpace,
                       orderId: job.orderId, store: job.store, dropoff: job.dropoff, fee: job.fee, currency: job.currency,
                       history: try context.workflow(workflow).history(id))
    }

    /// Every message from a peer's FoodMesh.
    static func received(_ message: DeliveryMessage, from peer: String, _ context: Context) throws {
        switch message.type {
        case "offer": try offer(message, from: peer, context)
        case "withdraw": try withdrawn(message, from: peer, context)
        case "status": try status(message, from: peer, context)
        default: throw AppError.badRequest("unknown message type \(message.type)")
        }
    }
}

/// An offer's time limit, as due work keyed by the delivery.
struct OfferTimeout: Codable, Sendable { var attempt: Int }

struct DeliveryEvent: Codable, Sendable {
    var deliveryId: String
    var orderId: String
    var courierNode: String
}
