import CSynCap
import CSynSQLite
import CSynSeccomp
import CSynSodium
import CSynTLS
import Testing

/// Each C library has exactly one wrapper module; these prove every one of them builds and links against the
/// Debian packages `make deps` installs, at the versions the project needs.
@Suite struct CWrapperTests {
    @Test func sqliteLinks() {
        #expect(sqlite3_libversion_number() >= 3_040_000)
        #expect(sqlite3_threadsafe() != 0)
    }

    @Test func sodiumLinks() {
        #expect(sodium_init() >= 0)
        #expect(crypto_sign_publickeybytes() == 32)
    }

    @Test func seccompLinks() {
        guard let version = seccomp_version() else { Issue.record("seccomp_version returned NULL"); return }
        #expect(version.pointee.major > 2 || version.pointee.minor >= 5)
        #expect(seccomp_syscall_resolve_name("read") == 0)
    }

    @Test func capLinks() {
        guard let caps = cap_init() else { Issue.record("cap_init failed"); return }
        #expect(cap_free(UnsafeMutableRawPointer(caps)) == 0)
    }

    @Test func gnutlsLinks() {
        #expect(gnutls_check_version("3.7.0") != nil)
    }
}
