import ArgumentParser
import Foundation
import SynHTTPSig
import SynRuntime
import SynSodium
import SynSystem

/// FoodMesh end to end through the real gateway (in this process, on a loopback port): `search` over 10,000
/// products in 500 stores, the worker's proportional memory, and orders (a quote then its placing, both signed) by
/// 64 concurrent clients, beside signed echo calls to the hello app by the same 64 clients in the same run.
struct BenchFoodMesh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "foodmesh", abstract: "FoodMesh search, orders a second and memory (JSON).")
    @Option(help: "Directory holding foodmesh.toml and hello.toml.") var manifests: String = "manifests"
    @Option(help: "Directory of sandbox profiles.") var profiles: String = "sandbox-profiles"
    @Option(help: "Stores to create.") var stores: Int = 500
    @Option(help: "Products per store.") var products: Int = 20
    @Option(help: "Timed searches.") var samples: Int = 200
    @Option(help: "Concurrent clients for orders and echo.") var clients: Int = 64
    @Option(help: "Seconds of each orders and echo run.") var seconds: Double = 5

    func run() async throws {
        // The clients sign tens of thousands of requests within the replay window: they get the whole cache.
        let node = try await BenchNode(label: "fm", apps: ["foodmesh", "hello"], manifests: manifests, profiles: profiles) { toml in
            var toml = toml
            toml.replace(try Regex("(?m)^replay_cache_entries *=.*$"), with: "replay_cache_entries = 1000000")
            return toml.replacingOccurrences(of: "[gateway]\n", with: "[gateway]\nreplay_entries_per_client = 1000000\n")
        }
        let (root, runtime, port) = (node.root, node.runtime, node.port)
        // hello waits (its worker would count in the memory figure) until the echo runs.
        _ = try runtime.setEnabled(false, app: "hello", actor: "bench")
        let manager = try KeyFile.loadOrCreate(path: root + "/manager.key").key
        let client = BenchClient(base: node.base, app: "foodmesh")

        // 500 stores around Lyon with 20 products each, made by 8 clients at once.
        let (storeCount, perStore) = (stores, products)
        let made = try await withThrowingTaskGroup(of: [String].self) { tasks in
            for worker in 0..<8 {
                tasks.addTask {
                    var ids: [String] = []
                    for i in stride(from: worker, to: storeCount, by: 8) {
                        let id = try await client.json("stores.create", Self.store(i), manager)["id"] as? String ?? ""
                        ids.append(id)
                        for p in 0..<perStore { _ = try await client.json("products.upsert", Self.product(i, p, store: id), manager) }
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await ids in tasks { all += ids }
            return all
        }
        let queries = [#"{"q":"sourdough"}"#, #"{"q":"ramen","in_stock":true,"near":{"lat":45.75,"lon":4.85,"km":3}}"#,
                       #"{"kind":"bakery","vegetarian":true,"near":{"lat":45.7,"lon":4.8,"km":5},"limit":10}"#,
                       #"{"q":"cheese tart","price_max":1000}"#, #"{"tags":["apples"],"in_stock":true,"limit":20}"#]
        var k = 0
        let searchTimes = try await client.time(samples) {
            k += 1
            try await client.raw("search", queries[k % queries.count])
        }
        let pss = BenchHomeServices.workerPSS()

        // Orders: one store's product with stock for every order the run can make; each client quotes one unit
        // for pickup in an hour and places it at once.
        let shop = made.first ?? ""
        let units = 1_000_000
        _ = try await client.json("products.upsert", #"{"store_id":"\#(shop)","id":"bench","title":"Bench box","description":"","unit":"box","price":500,"stock":\#(units)}"#, manager)
        let customers = try (0..<clients).map { try KeyFile.loadOrCreate(path: root + "/customer\($0).key").key }
        let cpuBefore = BenchHomeServices.cpuNs()
        let orders = try await Self.load(port: port, clients: customers, seconds: seconds) { connection, key in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let quote = try await Self.call(connection, "foodmesh", "orders.quote", #"{"store_id":"\#(shop)","items":[{"product_id":"bench","quantity":1}],"fulfilment":{"type":"pickup","from_ms":\#(now + 3_600_000),"until_ms":\#(now + 5_400_000)}}"#, port, key)
            let id = (try? JSONSerialization.jsonObject(with: Data(quote)) as? [String: Any])?["id"] as? String ?? ""
            _ = try await Self.call(connection, "foodmesh", "orders.place", #"{"quote_id":"\#(id)","payment_method":"cash_on_pickup"}"#, port, key)
        }
        let cpuOrders = BenchHomeServices.cpuNs()
        let product = try await client.json("products.list", #"{"store_id":"\#(shop)"}"#, nil)["products"] as? [[String: Any]] ?? []
        let bench = product.first { $0["id"] as? String == "bench" } ?? [:]
        let sold = units - (bench["stock"] as? Int ?? units)

        let (echo, cpuEchoBefore, cpuEcho) = try await Self.echo(runtime, port: port, clients: customers, seconds: seconds)
        await node.stop()
        let perCall = Self.perCall
        let pairs = Double(orders) / seconds, echoes = Double(echo) / seconds
        print(JSONText.object([
            ("search_ms_p50", JSONText.number(Stats.quantile(searchTimes, 0.5), places: 3)),
            ("search_ms_p90", JSONText.number(Stats.quantile(searchTimes, 0.9), places: 3)),
            ("products", "\(stores * products)"), ("stores", "\(stores)"),
            ("foodmesh_worker_pss_kb", "\(pss)"),
            ("clients", "\(clients)"),
            ("orders_per_s", JSONText.number(pairs, places: 1)),
            ("echo_per_s", JSONText.number(echoes, places: 1)),
            ("orders_vs_echo", JSONText.number(pairs / max(echoes, 1), places: 3)),
            ("worker_cpu_us_per_order", perCall(cpuOrders.workers - cpuBefore.workers, orders)),
            ("node_cpu_us_per_order", perCall(cpuOrders.node - cpuBefore.node, orders)),
            ("worker_cpu_us_per_echo", perCall(cpuEcho.workers - cpuEchoBefore.workers, echo)),
            ("node_cpu_us_per_echo", perCall(cpuEcho.node - cpuEchoBefore.node, echo)),
            ("orders", "\(orders)"), ("units_sold", "\(sold)"), ("held_after", "\(bench["held"] as? Int ?? -1)"),
            ("oversold", sold == orders && (bench["held"] as? Int) == 0 ? "false" : "true"),
            ("targets", #"{"orders_per_s": ">= 2000", "search_ms_p50": "< 10", "foodmesh_worker_pss_kb": "< 10240"}"#),
        ]))
    }

    static let words = ["rye", "sourdough", "lasagne", "ramen", "salad", "apples", "cheese", "croissant", "soup", "curry", "tart", "bagel"]

    /// Store `i`: one of five kinds, on a grid around Lyon, open every day.
    static func store(_ i: Int) -> String {
        let kinds = ["bakery", "restaurant", "grocer", "cafe", "deli"]
        let hours = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map { #"{"day":"\#($0)","start":"00:00","end":"24:00"}"# }.joined(separator: ",")
        let lat = 45.6 + Double(i % 50) * 0.007, lon = 4.7 + Double(i / 50) * 0.03
        return #"{"name":"Store \#(i)","kind":"\#(kinds[i % kinds.count])","description":"\#(words[i % words.count]) and more","location":{"city":"Lyon","lat":\#(lat),"lon":\#(lon)},"time_zone":"Europe/Paris","currency":"EUR","terms":"","hours":[\#(hours)],"delivery_zones":[{"name":"near","radius_km":5,"fee":300,"min_order":0}]}"#
    }

    /// Product `p` of store `i`: two words, a price, a tag; one in five sold out.
    static func product(_ i: Int, _ p: Int, store id: String) -> String {
        let w = words[(i + p) % words.count], v = words[(i * 7 + p * 3) % words.count]
        return #"{"store_id":"\#(id)","id":"p\#(p)","title":"\#(w) \#(v)","description":"fresh \#(w)","unit":"box","price":\#(300 + (i * 37 + p * 91) % 1700),"tags":["\#(v)"],"attributes":{"vegetarian":\#(p % 2 == 0)},"stock":\#(p % 5 == 0 ? 0 : 50)}"#
    }

    /// A signed call on a kept-alive connection; the answer's body, which must come with a 2xx.
    static func call(_ connection: HTTPConnection, _ app: String, _ method: String, _ body: String, _ port: Int,
                     _ key: SigningKey) async throws -> [UInt8] {
        let path = "/v1/apps/\(app)/\(method)"
        let signed = try RequestSigner(key: key).sign(method: "POST", url: "http://127.0.0.1:\(port)" + path, body: Array(body.utf8),
                                                      created: Int64(Date().timeIntervalSince1970))
        let reply = try await connection.send("POST", path, headers: [("Content-Type", "application/json")] + signed.fields.map { ($0.name, $0.value) },
                                              body: Array(body.utf8))
        guard (200..<300).contains(reply.status) else { throw CLIError("\(method) failed: \(String(decoding: reply.body, as: UTF8.self))") }
        return reply.body
    }

    /// The baseline of the same run: hello (stopped until now) started, then `clients` calling its echo (signed)
    /// for `seconds`, the same way; the calls made, and the CPU counters before and after.
    static func echo(_ runtime: NodeRuntime, port: Int, clients: [SigningKey], seconds: Double) async throws
        -> (calls: Int, before: (workers: UInt64, node: UInt64), after: (workers: UInt64, node: UInt64)) {
        _ = try runtime.setEnabled(true, app: "hello", actor: "bench")
        for _ in 0..<500 where runtime.app("hello")?.state != "running" { try await Task.sleep(for: .milliseconds(10)) }
        let before = BenchHomeServices.cpuNs()
        let calls = try await load(port: port, clients: clients, seconds: seconds) { connection, key in
            _ = try await call(connection, "hello", "echo", #"{"hi":1}"#, port, key)
        }
        return (calls, before, BenchHomeServices.cpuNs())
    }

    /// CPU microseconds a call costs, from nanoseconds over `calls`: less noisy than rates on a shared machine.
    static func perCall(_ ns: UInt64, _ calls: Int) -> String { JSONText.number(Double(ns) / 1000 / Double(max(calls, 1)), places: 1) }

    /// Runs `body` in a loop on each of `clients` concurrently for `seconds`, each client on its own kept-alive
    /// connection; the number of completed bodies.
    static func load(port: Int, clients: [SigningKey], seconds: Double,
                     _ body: @escaping @Sendable (HTTPConnection, SigningKey) async throws -> Void) async throws -> Int {
        let deadline = MonotonicClock.nowNs() + Int64(seconds * 1e9)
        return try await withThrowingTaskGroup(of: Int.self) { tasks in
            for key in clients {
                tasks.addTask {
                    let connection = try await HTTPConnection(host: "127.0.0.1", port: port)
                    var done = 0
                    do {
                        while MonotonicClock.nowNs() < deadline {
                            try await body(connection, key)
                            done += 1
                        }
                    } catch {
                        await connection.close()
                        throw error
                    }
                    await connection.close()
                    return done
                }
            }
            var total = 0
            for try await n in tasks { total += n }
            return total
        }
    }
}
