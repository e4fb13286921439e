import ArgumentParser
import Foundation
import SynSystem
import SynHTTPSig
import SynSodium

/// HomeServices end to end through the real gateway (in this process, on a loopback port): `slots.list` over 90
/// days of rules with 500 bookings, `search` over 10,000 Spaces, and the worker's proportional memory.
struct BenchHomeServices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "homeservices", abstract: "HomeServices latency and memory (JSON).")
    @Option(help: "Directory holding homeservices.toml.") var manifests: String = "manifests"
    @Option(help: "Directory of sandbox profiles.") var profiles: String = "sandbox-profiles"
    @Option(help: "Spaces to index for search.") var spaces: Int = 10_000
    @Option(help: "Bookings to place before timing slots.list.") var bookings: Int = 500
    @Option(help: "Timed requests per measurement.") var samples: Int = 200

    func run() async throws {
        // The benchmark's one client signs thousands of requests within the replay window: it gets the whole cache
        // (a node's default share per client is 1%, which the bench is not measuring).
        let node = try await BenchNode(label: "hs", apps: ["homeservices"], manifests: manifests, profiles: profiles) { toml in
            toml.replacingOccurrences(of: "[gateway]\n", with: "[gateway]\nreplay_entries_per_client = 100000\n")
        }
        let root = node.root
        let provider = try KeyFile.loadOrCreate(path: root + "/provider.key").key
        let consumer = try KeyFile.loadOrCreate(path: root + "/consumer.key").key
        let client = BenchClient(base: node.base)

        // One Space open 08:00–20:00 every day for a year, a 30-minute slot item, and `bookings` booked slots.
        let space = try await client.json("spaces.create", Self.space("Bench Plumbing", "plumbing", 45.76, 4.84, 0), provider)["id"] as? String ?? ""
        _ = try await client.json("catalog.upsert", #"{"space_id":"\#(space)","id":"slot","title":"Call-out","description":"","kind":"slot","duration_minutes":30,"price":{"model":"fixed","amount":6000,"currency":"EUR"}}"#, provider)
        let week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { #"{"day":"\#($0)","start":"08:00","end":"20:00"}"# }.joined(separator: ",")
        _ = try await client.json("availability.set", #"{"space_id":"\#(space)","rules":{"weekly":[\#(week)],"breaks":[{"day":"mon","start":"12:00","end":"13:00"}],"horizon_days":365,"request_expiry_minutes":10080}}"#, provider)
        let slotsQuery = #"{"space_id":"\#(space)","item_id":"slot","days":90}"#
        let free = try await client.json("slots.list", slotsQuery, nil)["slots"] as? [[String: Any]] ?? []
        for slot in free.prefix(bookings) {
            _ = try await client.json("bookings.request", #"{"space_id":"\#(space)","item_id":"slot","start_ms":\#(slot["start_ms"] as? Int ?? 0)}"#, consumer)
        }
        // Timed calls read the answer's bytes without parsing them: the figure is the node's, not the client's JSON parser's.
        let slotTimes = try await client.time(samples) { try await client.raw("slots.list", slotsQuery) }
        let slotCount = (try await client.json("slots.list", slotsQuery, nil)["slots"] as? [Any])?.count ?? 0

        // 10,000 Spaces across France with a few trades.
        let trades = ["plumbing", "electrical", "carpentry", "painting", "heating", "roofing"]
        var rng = SystemRandomNumberGenerator()
        for i in 1..<spaces {
            let lat = Double.random(in: 43.0...49.5, using: &rng), lon = Double.random(in: -1.0...7.0, using: &rng)
            _ = try await client.json("spaces.create", Self.space("Space \(i)", trades[i % trades.count], lat, lon, i), provider)
        }
        let queries = [#"{"q":"boiler leaks"}"#, #"{"trade":"heating","near":{"lat":45.76,"lon":4.84,"km":50}}"#,
                       #"{"q":"plumbing","near":{"lat":48.85,"lon":2.35,"km":30},"limit":10}"#, #"{"city":"Lyon","trade":"plumbing"}"#]
        var k = 0
        let searchTimes = try await client.time(samples) {
            k += 1
            try await client.raw("search", queries[k % queries.count])
        }
        let pss = Self.workerPSS()
        await node.stop()
        print(JSONText.object([
            ("slots_list_ms_p50", JSONText.number(Stats.quantile(slotTimes, 0.5), places: 3)),
            ("slots_list_ms_p90", JSONText.number(Stats.quantile(slotTimes, 0.9), places: 3)),
            ("slots_returned", "\(slotCount)"), ("bookings", "\(min(bookings, free.count))"),
            ("search_ms_p50", JSONText.number(Stats.quantile(searchTimes, 0.5), places: 3)),
            ("search_ms_p90", JSONText.number(Stats.quantile(searchTimes, 0.9), places: 3)),
            ("spaces", "\(spaces)"),
            ("homeservices_worker_pss_kb", "\(pss)"),
            ("targets", #"{"slots_list_ms_p50": "< 5", "search_ms_p50": "< 10", "homeservices_worker_pss_kb": "< 10240"}"#),
        ]))
    }

    static func space(_ name: String, _ trade: String, _ lat: Double, _ lon: Double, _ i: Int) -> String {
        let cities = ["Lyon", "Paris", "Lille", "Nantes", "Toulouse", "Marseille", "Bordeaux", "Grenoble"]
        let words = ["boiler", "leaks", "rewiring", "tiles", "roof", "gutters", "heat pumps", "bathrooms", "kitchens", "doors"]
        return #"{"name":"\#(name)","trade":"\#(trade)","description":"\#(words[i % words.count]) and \#(words[(i / 3) % words.count])","location":{"city":"\#(cities[i % cities.count])","lat":\#(lat),"lon":\#(lon)},"service_area_km":25,"terms":"","cancellation":{"free_until_hours":24,"fee_percent":20},"time_zone":"Europe/Paris"}"#
    }

    /// Proportional memory of the homeservices worker: its outer process, init and app.
    /// CPU nanoseconds of every app worker of this process (outer, init and app processes), and of this process
    /// itself (the gateway, the host's threads and the bench's clients).
    static func cpuNs() -> (workers: UInt64, node: UInt64) {
        var workers: UInt64 = 0
        for outer in BenchMemory.children(getpid()) {
            let cmdline = (try? String(contentsOfFile: "/proc/\(outer)/cmdline", encoding: .utf8)) ?? ""
            guard cmdline.contains("synapp-worker") else { continue }
            var stack = [outer]
            var seen: Set<Int32> = []
            while let pid = stack.popLast() {
                guard seen.insert(pid).inserted else { continue }
                workers += BenchMemory.cpuNs(pid)
                stack += BenchMemory.children(pid)
            }
        }
        return (workers, BenchMemory.cpuNs(getpid()))
    }

    static func workerPSS() -> Int {
        // A worker's outer process has the worker's init (and through it the app) as children; the pre-started
        // template, which has the same command line, has none.
        var total = 0
        for outer in BenchMemory.children(getpid()) {
            let cmdline = (try? String(contentsOfFile: "/proc/\(outer)/cmdline", encoding: .utf8)) ?? ""
            let below = BenchMemory.children(outer)
            guard cmdline.contains("synapp-worker"), !below.isEmpty else { continue }
            var stack = [outer] + below
            var seen: Set<Int32> = []
            while let pid = stack.popLast() {
                guard seen.insert(pid).inserted else { continue }
                total += BenchMemory.field(pid, "Pss:")
                if pid != outer { stack += BenchMemory.children(pid) }
            }
        }
        return total
    }
}

/// Signed POSTs to one app of one node (HomeServices unless told), with latency samples.
struct BenchClient: Sendable {
    let base: String
    var app = "homeservices"

    func json(_ method: String, _ body: String, _ key: SigningKey?) async throws -> [String: Any] {
        let url = base + "/v1/apps/\(app)/" + method
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        if let key {
            let signed = try RequestSigner(key: key).sign(method: "POST", url: url, body: Array(body.utf8), created: Int64(Date().timeIntervalSince1970))
            headers += signed.fields.map { ($0.name, $0.value) }
        }
        let reply = try await HTTPClient.send("POST", url, headers: headers, body: Array(body.utf8))
        guard (200..<300).contains(reply.status) else {
            throw CLIError("\(method) failed: \(String(decoding: reply.body, as: UTF8.self))")
        }
        return (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]) ?? [:]
    }

    /// An unsigned call whose answer must be 2xx; its body is not parsed.
    func raw(_ method: String, _ body: String) async throws {
        let reply = try await HTTPClient.send("POST", base + "/v1/apps/\(app)/" + method, headers: [("Content-Type", "application/json")],
                                              body: Array(body.utf8))
        guard (200..<300).contains(reply.status) else { throw CLIError("\(method) failed: \(String(decoding: reply.body, as: UTF8.self))") }
    }

    /// Milliseconds per call of `body`, `count` times after 10 warm-up calls.
    func time(_ count: Int, _ body: () async throws -> Void) async throws -> [Double] {
        for _ in 0..<10 { try await body() }
        var out: [Double] = []
        for _ in 0..<count {
            let t0 = MonotonicClock.nowNs()
            try await body()
            out.append(Double(MonotonicClock.nowNs() - t0) / 1e6)
        }
        return out
    }
}
