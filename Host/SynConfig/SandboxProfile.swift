/// A sandbox profile: the seccomp allowlist, mounts and resource limits one app's workers run under.
public struct SandboxProfile: Sendable, Equatable {
    /// What seccomp does with a syscall the profile does not list.
    public enum DefaultAction: String, Sendable {
        /// Kill the worker process (classified as a seccomp violation).
        case kill
        /// Fail the syscall with `defaultErrno`.
        case errno
        /// Allow it, but log it to the kernel audit log (for finding a profile's needs).
        case log
    }

    /// Host paths bound read-only into the worker's root.
    public struct Filesystem: Sendable, Equatable {
        /// The Swift runtime library directory (Foundation apps).
        public var swiftRuntime: Bool
        /// `/usr/share/zoneinfo`.
        public var zoneinfo: Bool
        /// `/dev/urandom`.
        public var urandom: Bool
        /// A `/proc` of the sandbox's own pid namespace, process directories only (`subset=pid`): libdispatch's
        /// thread monitor reads `/proc/<tid>/stat` and traps without it.
        public var proc: Bool

        public init(swiftRuntime: Bool = false, zoneinfo: Bool = false, urandom: Bool = false, proc: Bool = false) {
            self.swiftRuntime = swiftRuntime
            self.zoneinfo = zoneinfo
            self.urandom = urandom
            self.proc = proc
        }
    }

    public var name: String
    /// The file the profile was loaded from; nil when parsed from text.
    public var path: String?
    public var description: String
    public var defaultAction: DefaultAction
    /// errno for `default_action = "errno"` (default ENOSYS).
    public var defaultErrno: Int32
    /// Allowed syscall names, each known to libseccomp on the native architecture.
    public var allow: [String]
    /// Syscall name -> errno number returned instead of running it.
    public var errnoOverrides: [String: Int32]
    /// Whether the app may create threads (`clone` with `CLONE_THREAD`).
    public var threads: Bool
    /// Whether the app may map memory executable.
    public var execMemory: Bool
    public var filesystem: Filesystem
    public var limits: Limits

    /// ENOSYS, the default `defaultErrno`.
    public static let defaultErrnoNumber: Int32 = 38

    /// A profile with every optional key at its default.
    public init(name: String, path: String? = nil, description: String = "", defaultAction: DefaultAction = .kill,
                defaultErrno: Int32 = SandboxProfile.defaultErrnoNumber, allow: [String] = [],
                errnoOverrides: [String: Int32] = [:], threads: Bool = false, execMemory: Bool = false,
                filesystem: Filesystem = Filesystem(), limits: Limits = Limits()) {
        self.name = name
        self.path = path
        self.description = description
        self.defaultAction = defaultAction
        self.defaultErrno = defaultErrno
        self.allow = allow
        self.errnoOverrides = errnoOverrides
        self.threads = threads
        self.execMemory = execMemory
        self.filesystem = filesystem
        self.limits = limits
    }

    /// Reads and validates the profile at `path`.
    public static func load(path: String) throws(ConfigError) -> SandboxProfile {
        var profile = try parse(TextFile.read(path: path), file: path)
        profile.path = path
        return profile
    }

    /// Validates profile TOML; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> SandboxProfile {
        try ProfileParser.parse(TableReader.root(text: text, file: file))
    }
}
