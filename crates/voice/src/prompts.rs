//! The prompt audio the voice path plays: every `<language>/<name>.wav` under a prompts directory
//! (the layout `scripts/prompts` writes and `ivr::PromptRef::path` names), decoded once at start
//! to 8 kHz mono and shared by every call, plus the music on hold (`music/hold.wav`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ivr::PromptRef;
use media::prompt::PromptAudio;
use model::Language;

/// Largest prompt file read, in bytes (a 5-minute 8 kHz 16-bit file is 4.8 MB).
pub const MAX_PROMPT_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most prompt files loaded from one directory.
pub const MAX_PROMPT_FILES: usize = 4_096;
/// Where the music on hold is, relative to the prompts directory.
pub const HOLD_MUSIC: &str = "music/hold.wav";

/// Why the prompts could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PromptsError {
    #[error("prompts directory {}: {problem}", path.display())]
    Dir { path: PathBuf, problem: String },
    #[error("prompt {}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
}

/// Decoded prompts by language and name.
#[derive(Debug, Default)]
pub struct Prompts {
    by_name: HashMap<(Language, String), PromptAudio>,
    hold_music: Option<PromptAudio>,
}

impl Prompts {
    /// Loads every `<language>/<name>.wav` and `music/hold.wav` under `dir`. A directory whose
    /// name is not a language (other than `music`) is skipped; a WAV that does not decode is an
    /// error naming the file.
    pub fn load_dir(dir: &Path) -> Result<Prompts, PromptsError> {
        let dir_err = |problem: String| PromptsError::Dir { path: dir.to_owned(), problem };
        let mut prompts = Prompts::default();
        let entries = std::fs::read_dir(dir).map_err(|e| dir_err(e.to_string()))?;
        let mut files = 0usize;
        for entry in entries {
            let entry = entry.map_err(|e| dir_err(e.to_string()))?;
            let sub = entry.path();
            if !sub.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "music" {
                let hold = dir.join(HOLD_MUSIC);
                if hold.is_file() {
                    prompts.hold_music = Some(load(&hold)?);
                }
                continue;
            }
            let Ok(language) = Language::parse(&name) else { continue };
            let wavs = std::fs::read_dir(&sub).map_err(|e| dir_err(format!("{name}: {e}")))?;
            for wav in wavs {
                let path = wav.map_err(|e| dir_err(e.to_string()))?.path();
                if path.extension().is_none_or(|e| e != "wav") {
                    continue;
                }
                let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
                files += 1;
                if files > MAX_PROMPT_FILES {
                    return Err(dir_err(format!("holds more than {MAX_PROMPT_FILES} prompt files")));
                }
                prompts.by_name.insert((language.clone(), stem), load(&path)?);
            }
        }
        Ok(prompts)
    }

    /// Builds the set from `(relative path, WAV bytes)` pairs laid out like a prompts directory
    /// (`<language>/<name>.wav`, `music/hold.wav`); other paths are skipped.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<Prompts, PromptsError> {
        let mut prompts = Prompts::default();
        for (relative, bytes) in files {
            if prompts.by_name.len() >= MAX_PROMPT_FILES {
                return Err(PromptsError::Dir { path: PathBuf::from("(bundled)"), problem: "too many prompts".into() });
            }
            let decode = || {
                media::wav::load_prompt(bytes, MAX_PROMPT_FILE_BYTES)
                    .map(Into::into)
                    .map_err(|e| PromptsError::File { path: PathBuf::from(relative), problem: e.to_string() })
            };
            if relative == HOLD_MUSIC {
                prompts.hold_music = Some(decode()?);
                continue;
            }
            let Some((dir, file)) = relative.split_once('/') else { continue };
            let (Ok(language), Some(name)) = (Language::parse(dir), file.strip_suffix(".wav")) else { continue };
            if name.contains('/') {
                continue;
            }
            prompts.by_name.insert((language, name.to_owned()), decode()?);
        }
        Ok(prompts)
    }

    /// How many prompts (without the music) are loaded.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn contains(&self, language: &Language, name: &str) -> bool {
        self.by_name.contains_key(&(language.clone(), name.to_owned()))
    }

    /// The audio of each fragment, in order; `Err` names the first one that is missing.
    pub fn resolve(&self, fragments: &[PromptRef]) -> Result<Vec<PromptAudio>, String> {
        fragments
            .iter()
            .map(|f| self.by_name.get(&(f.language.clone(), f.name.clone())).cloned().ok_or_else(|| f.path()))
            .collect()
    }

    /// The music on hold: the loaded file, or a quiet two-tone pattern when none was provided.
    pub fn hold_music(&self) -> PromptAudio {
        self.hold_music.clone().unwrap_or_else(comfort_tone)
    }
}

fn load(path: &Path) -> Result<PromptAudio, PromptsError> {
    media::files::load_prompt_file(path, MAX_PROMPT_FILE_BYTES)
        .map(Into::into)
        .map_err(|e| PromptsError::File { path: path.to_owned(), problem: e.to_string() })
}

/// Two soft tones and a pause (2 s at 8 kHz): audible proof the line is alive.
fn comfort_tone() -> PromptAudio {
    let mut samples = Vec::with_capacity(16_000);
    for (hz, n) in [(440.0f64, 4_000usize), (554.4, 4_000), (0.0, 8_000)] {
        for i in 0..n {
            let t = i as f64 / 8_000.0;
            samples.push(if hz == 0.0 { 0 } else { (1_500.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16 });
        }
    }
    samples.into()
}
