import Foundation
import SynSandbox
import SynTestSupport
import Testing

/// The host reads an app library's `DT_NEEDED` names to choose its worker's runtime libraries: real libraries give
/// their real names, and no malformed file can crash the reader.
@Suite struct ELFDependenciesTests {
    static func needed(_ path: String) -> [String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        return fd >= 0 ? ELFDependencies.needed(fd: fd) : []
    }

    static func needed(bytes: [UInt8]) throws -> [String] {
        let path = TestSupport.scratch + "/elf-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return needed(path)
    }

    @Test func aCLibraryNeedsOnlyLibc() throws {
        let hello = try TestSupport.buildC("Plugins/Examples/hello-c/hello.c", name: "hello-elf")
        #expect(Self.needed(hello) == ["libc.so.6"])
        #expect(RuntimeDirectories.preload(forNeeded: Self.needed(hello)).isEmpty)
    }

    @Test func aSwiftAppGetsTheSwiftRuntimePreloaded() {
        let names = Self.needed(SwiftAppTests.library("SwiftEchoApp"))
        #expect(names.contains("libswiftCore.so"))
        #expect(names.contains("libswift_Concurrency.so"))
        let preload = RuntimeDirectories.preload(forNeeded: names)
        #expect(preload.contains { $0.hasSuffix("/libswift_Concurrency.so") })
        #expect(preload.allSatisfy { $0.hasPrefix("/") && FileManager.default.fileExists(atPath: $0) })
    }

    @Test func malformedFilesNameNothing() throws {
        #expect(try Self.needed(bytes: []) == [])
        #expect(try Self.needed(bytes: Array("not an ELF file at all".utf8)) == [])
        // An ELF header claiming 65535 program headers far past the end, and one with absurd offsets.
        var header = [UInt8](repeating: 0, count: 64)
        header[0...5] = [0x7F, 0x45, 0x4C, 0x46, 2, 1]
        header[0x36] = 56
        header[0x38] = 0xFF; header[0x39] = 0xFF
        #expect(try Self.needed(bytes: header) == [])
        for i in 0x20..<0x28 { header[i] = 0xFF }
        header[0x38] = 1; header[0x39] = 0
        #expect(try Self.needed(bytes: header) == [])
    }

    /// Every truncation and thousands of single-byte corruptions of a real library: each read ends with names
    /// or none, never a crash, and only ever names that are in the file.
    @Test func corruptedLibrariesNeverCrashTheReader() throws {
        let hello = try TestSupport.buildC("Plugins/Examples/hello-c/hello.c", name: "hello-elf")
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: hello)))
        var generator = SystemRandomNumberGenerator()
        for cut in stride(from: 0, to: min(original.count, 16_384), by: 97) {
            _ = try Self.needed(bytes: Array(original.prefix(cut)))
        }
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<8 {
                // Aim most corruptions at the headers and the dynamic section, where offsets live.
                let at = Int.random(in: 0..<min(bytes.count, 8192), using: &generator)
                bytes[at] = UInt8.random(in: 0...255, using: &generator)
            }
            for name in try Self.needed(bytes: bytes) { #expect(name.utf8.count < 4096) }
        }
    }
}
