import Foundation
import SynSQLite
import SynTestSupport
import Testing

/// Every SQL statement the shipped Swift apps (FoodMesh, HomeServices, Messaging) and their libraries write out in full is planned by SQLite against the
/// apps' real databases (migrated by a live node), and none may read a whole table: a statement that scans grows
/// slower with every row the app keeps. FoodMesh's quotes once counted a customer's live quotes by scanning every
/// quote ever made, and its search rows were replaced by scanning the whole index; both were found by profiling, not
/// by a test. Statements built at run time (search's filters) are not seen here; the benchmarks time them.
@Suite struct AppQueryPlanTests {
    /// Scans that are bounded by design, each with why.
    static let allowed: [(statement: String, why: String)] = [
        ("FROM holds h JOIN quotes q", "only live quotes and their lines are read (the held ones), once per product's sell-by"),
    ]

    @Test func noStatementReadsAWholeTable() async throws {
        let data = try await LiveNode.with(foodmesh: true, messaging: true) { node in
            // Each app's first call has its worker migrate the database.
            for app in ["foodmesh", "homeservices"] {
                let reply = try await node.request("POST", "/v1/apps/\(app)/search", body: "{}", sign: nil)
                try #require(reply.status == 200, "\(app): \(reply.text)")
            }
            let listed = try await node.request("POST", "/v1/apps/messaging/conversations.list", body: "{}", sign: try GatewayTests.key(node, "ada"))
            try #require(listed.status == 200, "messaging: \(listed.text)")
            return node.data
        }
        let fm = try Self.open(data + "/apps/foodmesh/app.db"), hs = try Self.open(data + "/apps/homeservices/app.db")
        let ms = try Self.open(data + "/apps/messaging/app.db")
        let sources: [(dir: String, dbs: [Database])] = [
            ("Plugins/FoodMesh", [fm]), ("Plugins/HomeServices", [hs]), ("Plugins/Messaging", [ms]), ("Plugins/SynSpaces", [fm, hs]),
            ("Plugins/SynAppKit", [fm, hs]),
        ]
        var checked = 0
        for (dir, dbs) in sources {
            for (file, sql) in try Self.statements(in: Paths.root + "/" + dir) {
                var plan: [String]?
                var failure = ""
                for db in dbs where plan == nil {
                    do throws(SQLiteError) {
                        let explain = "EXPLAIN QUERY PLAN " + sql
                        let nulls = [SQLValue](repeating: .null, count: try db.prepare(explain).parameterCount)
                        plan = try db.query(explain, nulls).compactMap { row -> String? in
                            if case .text(let detail)? = row.last { return detail }
                            return nil
                        }
                    } catch { failure = "\(error)" }
                }
                guard let plan else {
                    Issue.record("\(file): SQLite could not plan \(sql.prefix(120)): \(failure)")
                    continue
                }
                checked += 1
                for step in plan where Self.readsWhole(step) {
                    guard !Self.allowed.contains(where: { sql.contains($0.statement) }) else { continue }
                    Issue.record("\(file): \(step) in \(sql.replacingOccurrences(of: "\n", with: " ").prefix(160))")
                }
            }
        }
        // The extraction itself works: the apps write well over a hundred statements.
        #expect(checked > 100, "only \(checked) statements found")
    }

    /// A plan step that reads a whole table or index. A virtual table's step names the index its module chose
    /// (`INDEX 0:=` is an FTS5 lookup by rowid); with nothing after the colon the module reads every row.
    static func readsWhole(_ step: String) -> Bool {
        guard step.hasPrefix("SCAN "), step != "SCAN CONSTANT ROW" else { return false }
        if let virtual = step.range(of: "VIRTUAL TABLE INDEX ") {
            return step[virtual.upperBound...].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first?.isEmpty ?? true
        }
        return true
    }

    static func open(_ path: String) throws -> Database {
        var options = Database.Options()
        options.readOnly = true
        options.create = false
        return try Database(path: path, options: options)
    }

    /// The SQL string literals of the Swift files under `dir`: triple-quoted blocks and one-line strings that start
    /// with SELECT, INSERT, UPDATE, DELETE or WITH, without interpolations.
    static func statements(in dir: String) throws -> [(String, String)] {
        let files = (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".swift") }.sorted()
        let block = try Regex(#"(?s)"""\n(.*?)""""#)
        let line = try Regex(#""((?:SELECT|INSERT|UPDATE|DELETE|WITH) (?:[^"\\]|\\.)*)""#)
        var out: [(String, String)] = []
        for file in files {
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            var found: [String] = []
            for match in text.matches(of: block) { if let s = match.output[1].substring { found.append(String(s)) } }
            for match in text.matches(of: line) { if let s = match.output[1].substring { found.append(String(s)) } }
            for sql in found {
                let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines)
                guard ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(where: { trimmed.hasPrefix($0 + " ") || trimmed.hasPrefix($0 + "\n") }),
                      !trimmed.contains("\\("),
                      // A migration's script (several statements) is run once, not per call.
                      !trimmed.dropLast(trimmed.hasSuffix(";") ? 1 : 0).contains(";") else { continue }
                out.append((dir.split(separator: "/").last.map(String.init).map { $0 + "/" + file } ?? file,
                            trimmed.replacingOccurrences(of: "\\\"", with: "\"")))
            }
        }
        return out
    }
}
