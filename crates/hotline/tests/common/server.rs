//! A `hotline demo` run in a temp directory on free loopback ports, with an optional
//! configuration text; stopped with SIGTERM (and killed when dropped).

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `secs`.
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts `hotline demo --data-dir state` in `dir` (with `config` as `hotline.toml` when
    /// given) and waits until `/healthz` answers 200.
    pub fn start(dir: &Path, config: Option<&str>) -> Server {
        let (http, sip) = (free_port(), free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotline"));
        for (k, _) in std::env::vars() {
            if k.starts_with("HOTLINE_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(["demo", "--data-dir", "state", "--http-port", &http.to_string(), "--sip-port", &sip.to_string()]);
        if let Some(text) = config {
            let file = dir.join("hotline.toml");
            std::fs::write(&file, text).expect("config");
            cmd.arg("--config").arg(file);
        }
        let child = cmd
            .env("HOTLINE_LOG_LEVEL", "warn")
            .env("HOTLINE_HTTP_BIND", "127.0.0.1")
            .env("HOTLINE_SIP_BIND", "127.0.0.1")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hotline");
        let mut server = Server { child, base: format!("http://127.0.0.1:{http}") };
        eventually(60, "hotline healthy", || {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = server.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("hotline exited with {status}: {err}");
            }
            reqwest::blocking::get(format!("{}/healthz", server.base)).ok().filter(|r| r.status() == 200)
        });
        server
    }

    /// Signs `user` in over HTTP.
    pub fn login(&self, user: &str, password: &str) -> super::session::Session {
        super::session::Session::login(&self.base, user, password)
    }

    /// SIGTERM, and the exit must be clean; returns what it wrote to stderr.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("wait");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.success(), "hotline must stop cleanly: {status:?} {err}");
        err
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo database of a stopped (or running) server in `dir`, with a runtime to drive it.
pub fn store_at(dir: &Path) -> (tokio::runtime::Runtime, store::Store) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let url = format!("sqlite://{}", dir.join("state/hotline.db").display());
    let s = rt.block_on(store::Store::connect(&url, &store::ConnectOptions::default())).expect("open demo db");
    (rt, s)
}

/// The demo agent with this extension (the demo data set has fixed ids).
pub fn demo_agent(extension: &str) -> model::AgentId {
    demo::dataset(model::Timestamp::from_unix_ms(0))
        .agents
        .into_iter()
        .find(|a| a.extension.as_str() == extension)
        .expect("a demo agent")
        .id
}

pub fn now_ms() -> i64 {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    i64::try_from(ms).expect("ms")
}
