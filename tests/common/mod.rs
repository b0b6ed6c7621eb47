//! Shared by the integration tests that drive the `vadscope` binary.

/// Runs the `vadscope` binary; returns (success, stdout + stderr).
pub fn vadscope<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vadscope"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}
