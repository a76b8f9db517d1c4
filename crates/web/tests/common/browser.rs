//! What the Chromium tests share: where the scenarios (`crates/web/browser/*.mjs`) and the
//! screenshots live, the check that node, Chromium and playwright-core are installed, running one
//! scenario to its end, and the stereo WAV files their recordings are made of, placed in the
//! recordings directory with their `Recording` row.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use model::{ContactId, DurationMs, Recording, RecordingId, Timestamp};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The test recordings' sample rate, in Hz.
const WAV_RATE_HZ: u32 = 8000;
/// Bytes of one stereo 16-bit frame.
const WAV_BLOCK_BYTES: u16 = 4;
/// Bytes of the RIFF/WAVE header [`stereo_wav`] writes before the samples.
const WAV_HEADER_BYTES: usize = 44;

/// The playwright-core scenarios.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// `target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("screenshots")
}

/// Fails with what to install when a tool the scenarios need is missing.
pub fn require_tools() {
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is missing: install Node.js (Debian package `nodejs`) to run the browser tests ({node:?})"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: `apt-get install -y chromium` (Debian)");
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci` in {}",
        browser_dir().display()
    );
}

/// Runs `node <script> <base> <screenshot-dir> <extra...>` in the scenario directory, echoing its
/// lines as they come, and fails the test unless it exits successfully within `limit` having
/// printed `@@ok`. Returns everything it printed on stdout.
pub async fn run_scenario(script: &str, base: &str, extra: &[&str], limit: Duration) -> String {
    drive_scenario(script, base, extra, limit, async |_: &str| None).await
}

/// [`run_scenario`] for a scenario that asks the test to act midway (`@@submit`, `@@ready`):
/// `on_line` sees every line as it comes, and what it returns is written to the scenario's
/// stdin as one line.
pub async fn drive_scenario(
    script: &str,
    base: &str,
    extra: &[&str],
    limit: Duration,
    mut on_line: impl AsyncFnMut(&str) -> Option<String>,
) -> String {
    require_tools();
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg(base)
        .arg(screenshot_dir())
        .args(extra)
        .current_dir(browser_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut transcript = Vec::new();
    let run = async {
        while let Some(line) = lines.next_line().await.expect("read the scenario's output") {
            println!("{line}");
            if let Some(answer) = on_line(&line).await {
                stdin.write_all(format!("{answer}\n").as_bytes()).await.expect("answer the scenario");
            }
            transcript.push(line);
        }
        child.wait().await.expect("node exits")
    };
    let status = tokio::time::timeout(limit, run).await.expect("the browser scenario finishes");
    let out = transcript.join("\n");
    assert!(status.success() && out.contains("@@ok"), "browser scenario {script} failed ({status}):\n{out}");
    out
}

/// A screenshot the scenario wrote: a real PNG of some size, else the test fails.
pub fn assert_screenshot(name: &str) {
    let png = screenshot_dir().join(name);
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{name} is a real screenshot");
}

/// A WAV file of `frames` frames of 8 kHz 16-bit PCM stereo, frame `i` being `sample(i)` as
/// (left, right) — the layout of Hotline's call recordings (customer left, agent right).
pub fn stereo_wav(frames: u32, sample: impl Fn(u32) -> (i16, i16)) -> Vec<u8> {
    let mut data = Vec::with_capacity(frames as usize * usize::from(WAV_BLOCK_BYTES));
    for i in 0..frames {
        let (l, r) = sample(i);
        data.extend(l.to_le_bytes());
        data.extend(r.to_le_bytes());
    }
    let data_len = u32::try_from(data.len()).expect("a test WAV under 4 GiB");
    let mut out = b"RIFF".to_vec();
    out.extend((36 + data_len).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(WAV_RATE_HZ.to_le_bytes());
    out.extend((WAV_RATE_HZ * u32::from(WAV_BLOCK_BYTES)).to_le_bytes());
    out.extend(WAV_BLOCK_BYTES.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend(data_len.to_le_bytes());
    out.extend(data);
    out
}

/// A finished call recording as the recorder leaves it: `wav` (made by [`stereo_wav`]) written to
/// `rec_dir/path` and its `Recording` row (`id`, the demo org, `contact`, `started_at`; duration
/// and size read off the file) stored. Returns the row.
pub async fn place_recording(
    store: &store::Store,
    rec_dir: &Path,
    path: &str,
    wav: &[u8],
    id: RecordingId,
    contact: ContactId,
    started_at: Timestamp,
) -> Recording {
    let file = rec_dir.join(path);
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
    std::fs::write(&file, wav).expect("wav");
    let frames = (wav.len() - WAV_HEADER_BYTES) / usize::from(WAV_BLOCK_BYTES);
    let duration_ms = frames as u64 * 1000 / u64::from(WAV_RATE_HZ);
    let rec = Recording {
        id,
        org: demo::DEMO_ORG,
        contact,
        path: path.into(),
        started_at,
        duration: DurationMs::from_ms(duration_ms),
        size_bytes: wav.len() as u64,
        sha256: "0".repeat(64),
        channels: 2,
        sample_rate_hz: WAV_RATE_HZ,
        legal_hold: false,
        deleted_at: None,
    };
    store.insert_recording(&rec).await.expect("recording");
    rec
}
