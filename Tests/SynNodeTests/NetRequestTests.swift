import Foundation
import SynTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `net_request` from a sandboxed app through a real node to a local HTTPS server whose certificate a test
/// authority signed (the node trusts it through node.toml `[fetch] ca_file`): an allowed prefix, one that is not
/// granted, redirects inside and outside the grant, a name that resolves to loopback without a grant naming the
/// address, and a response that is too large.
@Suite struct NetRequestTests {
    /// A test CA and a server certificate for 127.0.0.1 and localhost, made with certtool (gnutls-bin).
    static func certificates(in dir: String) throws {
        try "cn = \"Syneroym test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n".write(toFile: dir + "/ca.tmpl", atomically: true, encoding: .utf8)
        try "cn = \"127.0.0.1\"\nip_address = \"127.0.0.1\"\ndns_name = \"localhost\"\ntls_www_server\nexpiration_days = 2\n"
            .write(toFile: dir + "/server.tmpl", atomically: true, encoding: .utf8)
        for args in [["--generate-privkey", "--outfile", dir + "/ca.key"],
                     ["--generate-self-signed", "--load-privkey", dir + "/ca.key", "--template", dir + "/ca.tmpl", "--outfile", dir + "/ca.pem"],
                     ["--generate-privkey", "--outfile", dir + "/server.key"],
                     ["--generate-certificate", "--load-privkey", dir + "/server.key", "--load-ca-certificate", dir + "/ca.pem",
                      "--load-ca-privkey", dir + "/ca.key", "--template", dir + "/server.tmpl", "--outfile", dir + "/server.pem"]] {
            let r = try ProcessLauncher.run("/usr/bin/certtool", args)
            guard r.status == 0 else { throw TestFailure("certtool \(args[0]): \(r.output)") }
        }
    }

    /// Waits (bounded) until something accepts connections on the port.
    static func waitForListener(_ port: Int) -> Bool {
        for _ in 0..<300 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if ok { return true }
            usleep(100_000)
        }
        return false
    }

    @Test func requestsReachOnlyWhatIsGrantedAndPublic() async throws {
        try await offThePool {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/certtool") else {
                Issue.record("certtool is missing (Debian package gnutls-bin; make test installs it)")
                return
            }
            let dir = TempDir("fetch")
            try Self.certificates(in: dir.path)
            let port = try FederationTests.freePort(), other = try FederationTests.freePort()
            let server = try ChildProcess("/usr/bin/env", ["python3", TestSupport.root + "/Tests/NetApps/https_server.py", "\(port)",
                                                           dir.file("server.pem"), dir.file("server.key")], stdout: .null)
            defer { server.signal() }
            try #require(Self.waitForListener(port), "the test HTTPS server did not start")
            let manifest = """
                [app]
                id = "fetcher"
                name = "fetcher"
                version = "1.0.0"
                abi = 1
                library = "libfetcher.so"
                [sandbox]
                profile = "default"
                [capabilities]
                net.fetch = ["https://127.0.0.1:\(port)/", "https://localhost:\(port)/"]
                [methods]
                public = ["fetch"]
                """
            let node = try ProcessNode.start(apps: [(id: "fetcher", source: "Tests/NetApps/fetcher.c", manifest: manifest)]) { toml in
                toml + "\n[fetch]\nca_file = \"\(dir.file("ca.pem"))\"\n"
            }
            defer { node.stop() }
            func fetch(_ url: String) throws -> String {
                let answer = try node.call("fetcher", "fetch", #"{"url":"\#(url)"}"#)
                #expect(answer.status == 200, "\(answer.body)")
                return answer.body
            }
            // Granted, and the address is named by the grant: fetched, the certificate checked against the test CA.
            let ok = try fetch("https://127.0.0.1:\(port)/ok")
            #expect(ok == #""200 5 hello""#, "\(ok)")
            // A redirect inside the grant is followed.
            let followed = try fetch("https://127.0.0.1:\(port)/redirect-in")
            #expect(followed == #""200 5 hello""#, "\(followed)")
            // Not granted: denied, naming the key.
            let refused = try fetch("https://127.0.0.1:\(other)/ok")
            #expect(refused.hasPrefix(#""ERR -3"#) && refused.contains("net.fetch"), "\(refused)")
            // A redirect that leaves the grant is not followed.
            let away = try fetch("https://127.0.0.1:\(port)/redirect-out")
            #expect(away.hasPrefix(#""ERR -3"#) && away.contains("example.invalid"), "\(away)")
            // A granted name that resolves to loopback: refused, since no grant names the address.
            let loopback = try fetch("https://localhost:\(port)/ok")
            #expect(loopback.hasPrefix(#""ERR -3"#) && loopback.contains("not a public address"), "\(loopback)")
            // Past [fetch] max_response_kb (1 MiB by default).
            let big = try fetch("https://127.0.0.1:\(port)/big")
            #expect(big.hasPrefix(#""ERR -8"#) && big.contains("max_response_kb"), "\(big)")
            // A hostile server: headers without end, one header past any sane size, a body that drips and never ends.
            // Each ends the request with an error inside the app's time; the node and the app go on.
            for path in ["/headers", "/huge-header"] {
                let answer = try fetch("https://127.0.0.1:\(port)\(path)")
                #expect(answer.hasPrefix(#""ERR -"#) && answer.contains("header"), "\(path): \(answer)")
            }
            let drip = try node.call("fetcher", "fetch", #"{"url":"https://127.0.0.1:\#(port)/drip","timeout":300}"#)
            #expect(drip.status == 200 && drip.body.hasPrefix(#""ERR -"#) && drip.body.contains("did not answer within"), "\(drip.body)")
            #expect(try fetch("https://127.0.0.1:\(port)/ok") == #""200 5 hello""#)
            // A node that does not trust the test's authority (the system's store alone) refuses the certificate.
            let plain = try ProcessNode.start(apps: [(id: "fetcher", source: "Tests/NetApps/fetcher.c", manifest: manifest)])
            defer { plain.stop() }
            let untrusted = try plain.call("fetcher", "fetch", #"{"url":"https://127.0.0.1:\#(port)/ok"}"#).body
            #expect(untrusted.hasPrefix(#""ERR -9"#) && untrusted.contains("NOT trusted"), "\(untrusted)")
            // Every denial is in the audit log.
            let audit = try CLI.syneroym(["audit", "show", "--data", node.data, "--limit", "50"])
            #expect(audit.stdout.contains("net_request"), "\(audit.stdout)")
        }
    }
}
