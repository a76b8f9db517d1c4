//! A `hotline demo` (or `serve`) run in a temp directory on free loopback ports, with an
//! optional configuration text and environment; stopped with SIGTERM (and killed when dropped).
//!
//! Ports are probed free and then handed to the binary, so another process can take one in
//! between; a start that fails with "Address already in use" is retried on new ports.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A loopback port that is free for both TCP and UDP right now (the SIP port takes both).
pub fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = tcp.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
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

/// How to start the binary: `Launch::demo(dir)` plus what a test changes.
pub struct Launch<'a> {
    pub command: &'a str,
    pub dir: &'a Path,
    pub config: Option<&'a str>,
    pub env: Vec<(String, String)>,
}

impl<'a> Launch<'a> {
    pub fn demo(dir: &'a Path) -> Self {
        Launch { command: "demo", dir, config: None, env: Vec::new() }
    }

    pub fn command(mut self, command: &'a str) -> Self {
        self.command = command;
        self
    }

    pub fn config(mut self, text: &'a str) -> Self {
        self.config = Some(text);
        self
    }

    pub fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.push((key.to_owned(), value.to_string()));
        self
    }

    /// Starts it and waits until `/healthz` answers 200 (at most 60 s).
    pub fn start(&self) -> Server {
        const ATTEMPTS: u32 = 5;
        let mut attempt = 1;
        loop {
            match Server::try_start(self) {
                Ok(server) => return server,
                Err(err) if err.contains("Address already in use") && attempt < ATTEMPTS => {
                    eprintln!("hotline lost a probed port to another process, retrying on new ports: {err}");
                    attempt += 1;
                }
                Err(err) => panic!("{err}"),
            }
        }
    }
}

pub struct Server {
    child: Child,
    pub base: String,
    pub sip: SocketAddr,
    /// What the binary wrote to stderr so far (read by a thread, so the pipe never fills).
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts `hotline demo --data-dir state` in `dir` (with `config` as `hotline.toml` when
    /// given) and waits until `/healthz` answers 200.
    pub fn start(dir: &Path, config: Option<&str>) -> Server {
        Launch { config, ..Launch::demo(dir) }.start()
    }

    fn try_start(launch: &Launch) -> Result<Server, String> {
        let (http, sip) = (free_port(), free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotline"));
        for (k, _) in std::env::vars() {
            if k.starts_with("HOTLINE_") {
                cmd.env_remove(k);
            }
        }
        cmd.args([launch.command, "--data-dir", "state", "--http-port", &http.to_string()]);
        cmd.args(["--sip-port", &sip.to_string()]);
        if let Some(text) = launch.config {
            let file = launch.dir.join("hotline.toml");
            std::fs::write(&file, text).expect("config");
            cmd.arg("--config").arg(file);
        }
        let mut child = cmd
            .env("HOTLINE_LOG_LEVEL", "warn")
            .env("HOTLINE_HTTP_BIND", "127.0.0.1")
            .env("HOTLINE_SIP_BIND", "127.0.0.1")
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .current_dir(launch.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hotline");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr piped");
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("hotline: {line}");
                let mut all = sink.lock().expect("stderr");
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{http}"),
            sip: SocketAddr::from(([127, 0, 0, 1], sip)),
            stderr,
            reader: Some(reader),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("hotline exited with {status}: {}", server.finish_stderr()));
            }
            if reqwest::blocking::get(format!("{}/healthz", server.base)).is_ok_and(|r| r.status() == 200) {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                return Err(format!("timed out waiting for hotline healthy at {}", server.base));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Signs `user` in over HTTP.
    pub fn login(&self, user: &str, password: &str) -> super::session::Session {
        super::session::Session::login(&self.base, user, password)
    }

    /// All it wrote to stderr, once it has exited.
    fn finish_stderr(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.stderr.lock().expect("stderr").clone()
    }

    /// SIGTERM; returns the exit status and what it wrote to stderr.
    pub fn stop_status(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("wait");
        (status, self.finish_stderr())
    }

    /// SIGTERM, and the exit must be clean; returns what it wrote to stderr.
    pub fn stop(self) -> String {
        let (status, err) = self.stop_status();
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
