//! Every prompt the demo flow can play exists as a WAV in both languages, 8 kHz mono 16-bit PCM
//! and not silent; the catalogue and the files agree.

mod common;

use std::path::Path;

use common::{catalog, demo_flow, repo_root};

struct Wav {
    channels: u16,
    sample_rate: u32,
    bits: u16,
    format: u16,
    samples: Vec<i16>,
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Reads a RIFF/WAVE file's `fmt ` and `data` chunks.
fn read_wav(path: &Path) -> Wav {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WAVE", "{}: not RIFF/WAVE", path.display());
    let (mut i, mut fmt, mut data) = (12, None, None);
    while i + 8 <= b.len() {
        let (id, len) = (&b[i..i + 4], u32_at(&b, i + 4) as usize);
        let body = &b[i + 8..(i + 8 + len).min(b.len())];
        match id {
            b"fmt " => fmt = Some((u16_at(body, 0), u16_at(body, 2), u32_at(body, 4), u16_at(body, 14))),
            b"data" => data = Some(body.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()),
            _ => {}
        }
        i += 8 + len + (len & 1);
    }
    let (format, channels, sample_rate, bits) = fmt.unwrap_or_else(|| panic!("{}: no fmt chunk", path.display()));
    Wav { channels, sample_rate, bits, format, samples: data.unwrap_or_else(|| panic!("{}: no data", path.display())) }
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

#[test]
fn every_demo_prompt_is_an_8khz_mono_16bit_non_silent_wav_in_both_languages() {
    let flow = demo_flow();
    let names = flow.prompt_names();
    assert!(names.contains(&"greeting".to_owned()) && names.contains(&"digit_7".to_owned()), "{names:?}");
    for lang in flow.languages() {
        for name in &names {
            let path = repo_root().join("prompts").join(format!("{lang}/{name}.wav"));
            let wav = read_wav(&path);
            let what = path.display();
            assert_eq!((wav.format, wav.channels, wav.sample_rate, wav.bits), (1, 1, 8000, 16), "{what}");
            assert!(wav.samples.len() >= 1_600, "{what}: shorter than 0.2 s");
            assert!(wav.samples.len() <= 8_000 * 20, "{what}: longer than 20 s");
            assert!(rms(&wav.samples) > 300.0, "{what}: silent (RMS {})", rms(&wav.samples));
        }
    }
}

#[test]
fn prompts_are_trimmed_of_leading_silence() {
    let wav = read_wav(&repo_root().join("prompts/en/greeting.wav"));
    let first_loud = wav.samples.iter().position(|s| s.unsigned_abs() > 100).expect("not silent");
    assert!(first_loud < 800, "speech starts within 0.1 s, not after {first_loud} samples");
}

#[test]
fn catalogue_and_files_agree() {
    let catalog = catalog();
    for lang in catalog.languages() {
        let dir = repo_root().join("prompts").join(lang.as_str());
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("prompt dir")
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".wav").map(str::to_owned))
            .collect();
        on_disk.sort();
        let in_catalog: Vec<String> =
            catalog.names().filter(|n| catalog.contains(&lang, n)).map(str::to_owned).collect();
        assert_eq!(on_disk, in_catalog, "prompts/{lang} vs prompts/catalog.toml: run scripts/prompts");
    }
}

#[test]
fn the_prompt_directory_on_disk_validates_the_demo_flow() {
    let on_disk = ivr::PromptCatalog::from_dir(&repo_root().join("prompts")).expect("prompts/ readable");
    let flow = ivr::Flow::load_file(&repo_root().join("flows/demo.toml"), &on_disk).expect("every prompt is on disk");
    assert_eq!(flow.id(), "demo");
    assert_eq!(on_disk.languages().len(), 2);
}

#[test]
fn stamps_match_the_catalogue_so_the_wavs_are_current() {
    // `--check` only reads files (no espeak-ng needed) and fails if a text changed without
    // regenerating its prompt.
    let out = std::process::Command::new("python3")
        .arg(repo_root().join("scripts/prompts"))
        .arg("--check")
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
