//! `[[sip.trunks]]` reach the running binary: `hotline demo` with a registering trunk registers
//! with a provider played by sipp (which verifies the digest credentials with `verifyauth`) and
//! un-registers when stopped with SIGTERM. The provider scenario is the SIP server's own
//! (`crates/sip-server/tests/sipp/provider_register.xml`).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// Free for UDP and TCP: the binary's SIP port takes both (a UDP-only probe lost the TCP side once in CI).
use common::server::free_port;

/// Kills and reaps the child if the test fails before it is stopped.
struct Owned(Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// sipp as the provider on 127.0.0.1:`port`, once its UDP socket is bound (/proc/net/udp).
fn provider(dir: &Path, hotline_sip: u16, port: u16) -> Owned {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sip-server/tests/sipp/provider_register.xml");
    let child = Command::new("sipp")
        .arg(format!("127.0.0.1:{hotline_sip}"))
        .args(["-sf", &scenario.display().to_string(), "-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1", "-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp is installed (Debian package sip-tester)");
    let bound = format!("0100007F:{port:04X} ");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::fs::read_to_string("/proc/net/udp").is_ok_and(|t| t.contains(&bound)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Owned(child)
}

#[test]
fn a_configured_trunk_registers_with_its_provider_and_unregisters_on_sigterm() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (http, sip, provider_port) = (free_port(), free_port(), free_port());
    let config = format!(
        "[[sip.trunks]]\nname = \"telecom\"\nhost = \"127.0.0.1\"\nport = {provider_port}\n\
         username = \"hotline-sh\"\npassword = \"s3cret\"\nregister = true\nregister_expires_s = 300\n\
         caller_id = \"+861088880000\"\ndefault = true\n"
    );
    std::fs::write(tmp.path().join("hotline.toml"), config).expect("config");
    let mut sipp = provider(tmp.path(), sip, provider_port);
    let mut hotline = Command::new(env!("CARGO_BIN_EXE_hotline"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HOTLINE_")) {
        hotline.env_remove(k);
    }
    let child = hotline
        .args(["demo", "-c", "hotline.toml", "--data-dir", "state"])
        .args(["--http-port", &http.to_string(), "--sip-port", &sip.to_string()])
        .env("HOTLINE_LOG_LEVEL", "warn")
        .env("HOTLINE_HTTP_BIND", "127.0.0.1")
        .env("HOTLINE_SIP_BIND", "127.0.0.1")
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hotline");
    let mut hotline = Owned(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let healthy = loop {
        let up = reqwest::blocking::get(format!("http://127.0.0.1:{http}/healthz")).is_ok_and(|r| r.status() == 200);
        if up || Instant::now() > deadline {
            break up;
        }
        if let Ok(Some(status)) = hotline.0.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = hotline.0.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("hotline exited before it was healthy: {status} {err}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(healthy, "hotline did not become healthy");
    // SIP starts before the web server; give the REGISTER exchange a moment on loopback.
    std::thread::sleep(Duration::from_millis(500));
    let pid = hotline.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = hotline.0.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut e) = hotline.0.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "SIGTERM must stop hotline cleanly: {status:?} {err}");
    let provider_status = sipp.0.wait().expect("sipp ends");
    let mut log = String::new();
    if let Some(mut e) = sipp.0.stderr.take() {
        let _ = e.read_to_string(&mut log);
    }
    for entry in std::fs::read_dir(tmp.path()).expect("dir").flatten() {
        if entry.file_name().to_string_lossy().ends_with("_errors.log") {
            log.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    assert!(provider_status.success(), "the provider saw no verified REGISTER and un-REGISTER: {log}");
}
