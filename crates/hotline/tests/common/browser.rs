//! A Chromium scenario of `crates/web/browser` (node + playwright-core + `/usr/bin/chromium`)
//! run against a running `hotline`: the script prints `@@ready` when its pages are signed in,
//! `@@step`, `@@<key> <value>` lines as it goes and `@@ok` at the end.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a script may take to sign its pages in.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// Longest a whole script may take.
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

/// Runs `node <script> <base> <shots>` in `crates/web/browser`; `ready` runs once the script has
/// printed `@@ready`. Returns the transcript; panics unless the script ended with `@@ok`.
pub fn scenario(script: &str, base: &str, shots: &Path, ready: impl FnOnce()) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/browser");
    assert!(dir.join("node_modules/playwright-core").exists(), "run `npm ci` in {}", dir.display());
    let mut node = Command::new("node")
        .arg(script)
        .arg(base)
        .arg(shots)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let out = node.stdout.take().expect("stdout");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                println!("{line}");
                lines.lock().expect("lock").push(line);
            }
        })
    };
    let seen = |what: &str| lines.lock().expect("lock").iter().any(|l| l == what);
    let deadline = Instant::now() + READY_LIMIT;
    loop {
        if seen("@@ready") {
            ready();
            break;
        }
        if node.try_wait().expect("wait").is_some() || Instant::now() > deadline {
            break; // the transcript below says why
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + SCENARIO_LIMIT;
    let status = loop {
        if let Some(status) = node.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            let _ = node.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = reader.join();
    let transcript = lines.lock().expect("lock").join("\n");
    assert!(
        status.is_some_and(|s| s.success()) && transcript.contains("@@ok"),
        "browser scenario {script} failed ({status:?}):\n{transcript}"
    );
    transcript
}

/// The value after `@@<key> ` in a transcript.
pub fn reported(transcript: &str, key: &str) -> String {
    let prefix = format!("@@{key} ");
    transcript
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in:\n{transcript}"))
        .to_owned()
}

/// Whether `dir/<name>.png` is a real screenshot (a PNG of some size) for every name.
pub fn assert_screenshots(dir: &Path, names: &[&str]) {
    for name in names {
        let bytes = std::fs::read(dir.join(format!("{name}.png"))).unwrap_or_else(|e| panic!("{name}.png: {e}"));
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{name}.png is a real screenshot");
    }
    println!("screenshots in {}", dir.display());
}
