import Foundation
import SynConfig
import SynSandbox

/// Turns a manifest (and a profile) into a worker spec, with errors a node owner can act on.
enum AppLoader {
    /// Loads `manifestPath`; the profile is `profilePath` if given, else the manifest's `[sandbox] profile`
    /// found in the profile directories.
    static func spec(manifestPath: String, profilePath: String?, profileDirectory: String? = nil)
        throws(CLIError) -> (AppManifest, SandboxProfile, WorkerSpec)
    {
        let manifest: AppManifest
        do { manifest = try AppManifest.load(path: manifestPath) } catch { throw CLIError("error: \(error)") }
        let profile = try loadProfile(named: manifest.profile, explicit: profilePath,
                                      directories: NodePaths.profileDirectories(manifest: manifestPath, explicit: profileDirectory))
        let library: String
        do { library = try manifest.resolveLibrary(searchDirectories: [NodePaths.products]) } catch {
            throw CLIError("error: \(error)")
        }
        guard FileManager.default.isExecutableFile(atPath: NodePaths.worker) else {
            throw CLIError("error: the worker executable \(NodePaths.worker) is missing (build with `make build`, or set SYNEROYM_WORKER)")
        }
        let spec = WorkerSpec(manifest: manifest, profile: profile, library: library, workerExecutable: NodePaths.worker)
        return (manifest, profile, spec)
    }

    static func loadProfile(named name: String, explicit: String?, directories: [String]) throws(CLIError) -> SandboxProfile {
        if let explicit {
            do { return try SandboxProfile.load(path: explicit) } catch { throw CLIError("error: \(error)") }
        }
        for dir in directories {
            let path = (dir as NSString).appendingPathComponent("\(name).toml")
            guard FileManager.default.fileExists(atPath: path) else { continue }
            do { return try SandboxProfile.load(path: path) } catch { throw CLIError("error: \(error)") }
        }
        throw CLIError("error: sandbox profile '\(name)' (the manifest's [sandbox] profile) not found in: \(directories.joined(separator: ", ")); pass --profile FILE")
    }

    /// Every manifest (`*.toml`) in `directory`, parsed, sorted by file name. Refuses a directory without any.
    static func manifests(in directory: String) throws(CLIError) -> [AppManifest] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        guard !files.isEmpty else { throw CLIError("error: no manifests (*.toml) in \(directory); pass --manifests DIR") }
        var out: [AppManifest] = []
        for file in files {
            do { out.append(try AppManifest.load(path: (directory as NSString).appendingPathComponent(file))) } catch {
                throw CLIError("error: \(error)")
            }
        }
        return out
    }
}
