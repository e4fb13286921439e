import SynSandbox

/// The lines `syneroym doctor` prints: `ok` or `FAIL`, the check, what was found, and for a failure its fix.
struct DoctorReport {
    private(set) var text = ""
    private(set) var failures = 0

    mutating func add(_ name: String, _ result: SandboxProbe.Result) {
        text += (result.ok ? "ok    " : "FAIL  ") + name + ": " + result.detail + "\n"
        if !result.ok {
            failures += 1
            text += "      fix: " + result.fix + "\n"
        }
    }
}
