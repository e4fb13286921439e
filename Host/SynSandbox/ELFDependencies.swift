// Hand-written on purpose: none of the libraries this project may link (sqlite3, libsodium, libseccomp, libcap,
// gnutls) reads ELF, and running `ldd` or the dynamic loader on an app's library would execute or trust it. This
// reads exactly one thing, the DT_NEEDED names of a 64-bit little-endian ELF file, with every offset and count
// bounded, and treats the file as hostile: a malformed one yields no names, never a crash.
#if canImport(Glibc)
import Glibc
#endif

/// The shared libraries an ELF library names as its direct dependencies (`DT_NEEDED`).
public enum ELFDependencies {
    /// At most this many program headers, dynamic entries and bytes of string table are read.
    static let maxProgramHeaders = 256
    static let maxDynamicEntries = 4096
    static let maxStringTable = 1 << 20

    /// The `DT_NEEDED` names of the ELF file open at `fd` (read with `pread`, so the offset is untouched); empty
    /// when it is not a 64-bit little-endian ELF file or is malformed.
    public static func needed(fd: Int32) -> [String] {
        let reader = Reader(fd: fd)
        guard let ident = header(reader) else { return [] }
        let phoff = le(ident, 0x20, 8), phentsize = Int(le(ident, 0x36, 2)), phnum = Int(le(ident, 0x38, 2))
        guard phentsize >= 56, phnum <= maxProgramHeaders,
              let table = reader.bytes(at: phoff, count: phentsize * phnum), table.count == phentsize * phnum
        else { return [] }
        var loads: [(offset: UInt64, vaddr: UInt64, size: UInt64)] = []
        var dynamic: (offset: UInt64, size: UInt64)?
        for i in 0..<phnum {
            let base = i * phentsize
            let type = le(table, base, 4)
            let segment = (offset: le(table, base + 8, 8), vaddr: le(table, base + 16, 8), size: le(table, base + 32, 8))
            if type == 1 { loads.append(segment) } // PT_LOAD
            if type == 2 { dynamic = (segment.offset, segment.size) } // PT_DYNAMIC
        }
        guard let dynamic else { return [] }
        let entries = Int(min(dynamic.size / 16, UInt64(maxDynamicEntries)))
        guard let dyn = reader.bytes(at: dynamic.offset, count: entries * 16) else { return [] }
        var needed: [UInt64] = [], strtab: UInt64?, strsz: UInt64 = 0
        for i in 0..<(dyn.count / 16) {
            let tag = le(dyn, i * 16, 8), value = le(dyn, i * 16 + 8, 8)
            switch tag {
            case 0: break // DT_NULL ends the table; later bytes are padding
            case 1: needed.append(value) // DT_NEEDED
            case 5: strtab = value // DT_STRTAB (an address)
            case 10: strsz = value // DT_STRSZ
            default: continue
            }
            if tag == 0 { break }
        }
        // The string table's address, mapped to its place in the file through the segment that loads it.
        guard let strtab, strsz > 0, strsz <= UInt64(maxStringTable),
              let load = loads.first(where: { strtab >= $0.vaddr && strtab - $0.vaddr < $0.size }),
              strsz <= load.size, strtab - load.vaddr <= load.size - strsz,
              case let (start, overflow) = load.offset.addingReportingOverflow(strtab - load.vaddr), !overflow,
              let strings = reader.bytes(at: start, count: Int(strsz))
        else { return [] }
        return needed.compactMap { offset -> String? in
            guard offset < UInt64(strings.count) else { return nil }
            let tail = strings[Int(offset)...]
            guard let end = tail.firstIndex(of: 0), end > tail.startIndex else { return nil }
            return String(decoding: tail[..<end], as: UTF8.self)
        }
    }

    /// The strings of the `.comment` section (the compilers that built the file, e.g. "Swift version 6.3 ...",
    /// "GCC: (Debian 12.2.0-14) 12.2.0"), at most 16 of them; empty when there is none or the file is malformed.
    public static func comments(fd: Int32) -> [String] {
        let reader = Reader(fd: fd)
        guard let ident = header(reader) else { return [] }
        let shoff = le(ident, 0x28, 8), shentsize = Int(le(ident, 0x3A, 2)), shnum = Int(le(ident, 0x3C, 2))
        let shstrndx = Int(le(ident, 0x3E, 2))
        guard shentsize >= 64, shnum > 0, shnum <= 4096, shstrndx < shnum,
              let table = reader.bytes(at: shoff, count: shentsize * shnum), table.count == shentsize * shnum
        else { return [] }
        func section(_ i: Int) -> (name: UInt64, offset: UInt64, size: UInt64) {
            (le(table, i * shentsize, 4), le(table, i * shentsize + 0x18, 8), le(table, i * shentsize + 0x20, 8))
        }
        let names = section(shstrndx)
        guard names.size <= UInt64(maxStringTable), let nameTable = reader.bytes(at: names.offset, count: Int(names.size)) else { return [] }
        for i in 0..<shnum {
            let s = section(i)
            guard s.name < UInt64(nameTable.count) else { continue }
            let tail = nameTable[Int(s.name)...]
            let end = tail.firstIndex(of: 0) ?? tail.endIndex
            guard String(decoding: tail[..<end], as: UTF8.self) == ".comment" else { continue }
            guard s.size <= 64 * 1024, let bytes = reader.bytes(at: s.offset, count: Int(s.size)) else { return [] }
            var seen: [String] = []
            for piece in bytes.split(separator: 0) where seen.count < 16 {
                let text = String(decoding: piece.prefix(256), as: UTF8.self).trimmingSpaces
                if !text.isEmpty && !seen.contains(text) { seen.append(text) }
            }
            return seen
        }
        return []
    }

    /// The 64-byte ELF header of a 64-bit little-endian file, or nil for anything else.
    static func header(_ reader: Reader) -> [UInt8]? {
        guard let ident = reader.bytes(at: 0, count: 64), ident.count == 64,
              ident[0] == 0x7F, ident[1] == 0x45, ident[2] == 0x4C, ident[3] == 0x46, // \x7fELF
              ident[4] == 2, ident[5] == 1 // 64-bit, little-endian
        else { return nil }
        return ident
    }

    /// A little-endian unsigned integer of `size` bytes at `at` (0 past the end).
    static func le(_ bytes: [UInt8], _ at: Int, _ size: Int) -> UInt64 {
        guard at >= 0, at + size <= bytes.count else { return 0 }
        var v: UInt64 = 0
        for i in (0..<size).reversed() { v = v << 8 | UInt64(bytes[at + i]) }
        return v
    }

    struct Reader {
        let fd: Int32
        /// `count` bytes at `offset`, or fewer at the end of the file; nil on a read error or an absurd request.
        func bytes(at offset: UInt64, count: Int) -> [UInt8]? {
            guard count >= 0, count <= 1 << 24, offset <= UInt64(Int64.max - (1 << 24)) else { return nil }
            var out = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = out.withUnsafeMutableBytes { buffer -> Int in
                    guard let base = buffer.baseAddress else { return -1 }
                    return pread(fd, base + done, count - done, off_t(offset) + off_t(done))
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return nil }
                if n == 0 { break }
                done += n
            }
            return Array(out.prefix(done))
        }
    }
}


private extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
