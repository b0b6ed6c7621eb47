//! Shared by the integration tests that drive the `vadscope` binary. Each
//! test binary compiles its own copy and uses only some of it, hence the
//! `dead_code` allowances.

/// Runs the `vadscope` binary; returns (success, stdout + stderr).
#[allow(dead_code)]
pub fn vadscope<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vadscope"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A UDP port on 127.0.0.1 that was free a moment ago (the live tests send
/// streams to it).
#[allow(dead_code)]
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
