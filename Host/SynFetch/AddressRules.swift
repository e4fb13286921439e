#if canImport(Glibc)
import Glibc
#endif

/// Which addresses `net_request` may connect to without a grant that names them: public unicast only. Loopback,
/// private (RFC 1918, unique-local), link-local, shared (CGNAT), unspecified, multicast, documentation and
/// benchmarking ranges, and IPv4 mapped into IPv6 for any of those, are not public.
public enum AddressRules {
    /// Whether `address` (numeric IPv4 or IPv6 text) is a public unicast address.
    public static func isPublic(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return isPublic(v4: UInt32(bigEndian: v4.s_addr)) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return false }
        let b = withUnsafeBytes(of: v6) { Array($0) }
        // ::ffff:a.b.c.d and ::a.b.c.d (deprecated compatible form): judged as the IPv4 address.
        if b[0..<10].allSatisfy({ $0 == 0 }) && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)) {
            let v4 = UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15])
            return b[10] == 0xff ? isPublic(v4: v4) : false
        }
        if b.allSatisfy({ $0 == 0 }) { return false }                       // ::
        if b[0] == 0xff { return false }                                    // multicast
        if b[0] & 0xfe == 0xfc { return false }                             // fc00::/7 unique local
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return false }             // fe80::/10 link-local
        if b[0] == 0xfe && b[1] & 0xc0 == 0xc0 { return false }             // fec0::/10 site-local (deprecated)
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return false } // 2001:db8::/32 documentation
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b { return false } // 64:ff9b::/96 NAT64: may reach anything
        return true
    }

    static func isPublic(v4 a: UInt32) -> Bool {
        func within(_ net: UInt32, _ bits: UInt32) -> Bool { a >> (32 - bits) == net >> (32 - bits) }
        let blocked: [(UInt32, UInt32)] = [
            (0x0000_0000, 8),   // 0.0.0.0/8 "this network"
            (0x0A00_0000, 8),   // 10/8
            (0x6440_0000, 10),  // 100.64/10 shared (CGNAT)
            (0x7F00_0000, 8),   // 127/8 loopback
            (0xA9FE_0000, 16),  // 169.254/16 link-local (cloud metadata lives here)
            (0xAC10_0000, 12),  // 172.16/12
            (0xC000_0000, 24),  // 192.0.0/24 protocol assignments
            (0xC000_0200, 24),  // 192.0.2/24 documentation
            (0xC0A8_0000, 16),  // 192.168/16
            (0xC612_0000, 15),  // 198.18/15 benchmarking
            (0xC633_6400, 24),  // 198.51.100/24 documentation
            (0xCB00_7100, 24),  // 203.0.113/24 documentation
            (0xE000_0000, 4),   // 224/4 multicast
            (0xF000_0000, 4),   // 240/4 reserved, and the broadcast address
        ]
        return !blocked.contains { within($0.0, $0.1) }
    }
}
