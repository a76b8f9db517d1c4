//! A real InfluxDB 1.x (Debian's `influxdb` package) for tests: one `influxd` per call with its own
//! config, folders and loopback ports, killed when dropped. Built only with the `test-influxd`
//! feature (a dev-dependency of this crate's and the binary's tests).
//!
//! Ports are probed free and then handed to `influxd`, so another process can take one in between
//! (an outgoing connection's ephemeral port, under CI load). A start that loses a port this way is
//! retried on new ports; any other early exit is an error carrying `influxd`'s own log.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started `influxd` may take to answer `/ping` (it opens its stores first; slower
/// when the machine's two cores are busy with the rest of the suite).
pub const START_TIMEOUT_MS: u64 = 45_000;
/// How long [`Influxd::stop`] waits after SIGTERM before it kills.
pub const STOP_TIMEOUT_MS: u64 = 10_000;
/// Starts tried on new ports when a probed port was taken before `influxd` bound it.
pub const MAX_PORT_RETRIES: u32 = 5;

/// An `influxd` this test owns.
pub struct Influxd {
    child: Child,
    /// `http://127.0.0.1:<port>`, the HTTP API.
    pub url: String,
    /// The HTTP API's port, to start another `influxd` on the same folders and port.
    pub http_port: u16,
}

impl Influxd {
    /// Starts `influxd` with its data under `dir`, on new loopback ports.
    pub fn start(dir: &Path) -> Result<Influxd, String> {
        let mut last = String::new();
        for _ in 0..MAX_PORT_RETRIES {
            match Self::try_start(dir, free_port()?) {
                Ok(influxd) => return Ok(influxd),
                Err(Failure::PortTaken(log)) => last = log,
                Err(Failure::Other(e)) => return Err(e),
            }
        }
        Err(format!("influxd lost its ports {MAX_PORT_RETRIES} times; last log:\n{last}"))
    }

    /// Starts `influxd` on `dir` with its HTTP API on `http_port` (a restart of one that was
    /// stopped: the same data and URL).
    pub fn start_on(dir: &Path, http_port: u16) -> Result<Influxd, String> {
        Self::try_start(dir, http_port).map_err(|f| match f {
            Failure::PortTaken(log) => format!("influxd could not bind port {http_port}:\n{log}"),
            Failure::Other(e) => e,
        })
    }

    fn try_start(dir: &Path, http_port: u16) -> Result<Influxd, Failure> {
        let config = format!(
            r#"reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{d}/meta"
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
[retention]
  enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
"#,
            rpc = free_port().map_err(Failure::Other)?,
            d = dir.display(),
        );
        let config_path = dir.join("influxdb.conf");
        std::fs::write(&config_path, config).map_err(|e| Failure::Other(format!("write influxd config: {e}")))?;
        let log_path = dir.join("influxd.log");
        let log = std::fs::File::create(&log_path).map_err(|e| Failure::Other(format!("create influxd log: {e}")))?;
        let err_log = log.try_clone().map_err(|e| Failure::Other(format!("influxd log: {e}")))?;
        let child = Command::new("influxd")
            .arg("run")
            .arg("-config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .spawn()
            .map_err(|e| Failure::Other(format!("start influxd (apt-get install influxdb): {e}")))?;
        // Owned from here, so every early return below kills and reaps it.
        let mut influxd = Influxd { child, url: format!("http://127.0.0.1:{http_port}"), http_port };
        let deadline = Instant::now() + Duration::from_millis(START_TIMEOUT_MS);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = influxd.child.try_wait() {
                let log = read_log(&log_path);
                return Err(if log.contains("address already in use") {
                    Failure::PortTaken(log)
                } else {
                    Failure::Other(format!("influxd exited ({status}) before it answered /ping:\n{log}"))
                });
            }
            if ping(http_port) {
                return Ok(influxd);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(Failure::Other(format!(
            "influxd did not answer /ping within {START_TIMEOUT_MS} ms:\n{}",
            read_log(&log_path)
        )))
    }

    /// SIGTERM (influxd then writes its meta data out), SIGKILL if it has not exited in
    /// [`STOP_TIMEOUT_MS`].
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_millis(STOP_TIMEOUT_MS);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Drop kills and reaps.
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Failure {
    /// `influxd` exited because a port it was given was in use: worth a try on new ports.
    PortTaken(String),
    Other(String),
}

/// A loopback TCP port that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind an ephemeral port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| format!("local address: {e}"))
}

/// `GET /ping` answered 204.
fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(2_000)));
    if s.write_all(b"GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.ends_with(b" 204")
}

/// The last 4 KiB of the log (its end says why it stopped).
fn read_log(path: &Path) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let start = text.len().saturating_sub(4_096);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    text[start..].to_owned()
}
