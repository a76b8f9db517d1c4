//! Prompts: a bounded cache of decoded 8 kHz prompts and a [`Playback`] that turns a sequence of
//! fragments ("your position is" + "three" + "in the queue") into 20 ms frames, optionally looped
//! (music on hold) and interruptible by DTMF (barge-in).
//!
//! Must never: decode a file on the packet path (prompts are loaded once into the cache), hold more
//! than `max_prompts` / `max_cached_samples`, or emit a frame of other than 160 samples.

use std::collections::HashMap;
use std::sync::Arc;

use crate::codec::SAMPLES_PER_FRAME;
use crate::error::AudioError;

/// Decoded 8 kHz mono audio, shared between calls.
pub type PromptAudio = Arc<[i16]>;

/// Cache limits.
#[derive(Debug, Clone, Copy)]
pub struct PromptCacheConfig {
    pub max_prompts: usize,
    /// Total samples over all prompts (8000 per second, 2 bytes each).
    pub max_cached_samples: usize,
}

impl Default for PromptCacheConfig {
    fn default() -> Self {
        // 4096 prompts, 1 hour of audio (57.6 MB).
        Self { max_prompts: 4096, max_cached_samples: 8000 * 3600 }
    }
}

/// Prompts by name, decoded once.
#[derive(Debug, Default)]
pub struct PromptCache {
    config: PromptCacheConfig,
    prompts: HashMap<String, PromptAudio>,
    samples: usize,
}

impl PromptCache {
    pub fn new(config: PromptCacheConfig) -> Self {
        Self { config, prompts: HashMap::new(), samples: 0 }
    }

    /// Adds or replaces a prompt.
    pub fn insert(&mut self, name: &str, samples: Vec<i16>) -> Result<PromptAudio, AudioError> {
        let replaced = self.prompts.get(name).map_or(0, |p| p.len());
        if replaced == 0 && self.prompts.len() >= self.config.max_prompts {
            return Err(AudioError::CacheFull { max: self.config.max_prompts });
        }
        let total = self.samples - replaced + samples.len();
        if total > self.config.max_cached_samples {
            return Err(AudioError::TooLarge {
                bytes: total as u64 * 2,
                max: self.config.max_cached_samples as u64 * 2,
            });
        }
        let audio: PromptAudio = samples.into();
        self.prompts.insert(name.to_owned(), audio.clone());
        self.samples = total;
        Ok(audio)
    }

    pub fn get(&self, name: &str) -> Result<PromptAudio, AudioError> {
        self.prompts.get(name).cloned().ok_or_else(|| AudioError::UnknownPrompt(name.to_owned()))
    }

    /// The fragments named, in order (for a spoken number or a date).
    pub fn sequence(&self, names: &[&str]) -> Result<Vec<PromptAudio>, AudioError> {
        names.iter().map(|n| self.get(n)).collect()
    }

    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }
}

/// How a playback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackEnd {
    Finished,
    /// Stopped by a DTMF digit (barge-in) or by the caller.
    Interrupted,
}

/// Plays fragments back to back as 20 ms frames.
#[derive(Debug, Clone)]
pub struct Playback {
    fragments: Vec<PromptAudio>,
    fragment: usize,
    offset: usize,
    looped: bool,
    barge_in: bool,
    ended: Option<PlaybackEnd>,
}

impl Playback {
    /// Plays once; `barge_in` lets a digit stop it.
    pub fn new(fragments: Vec<PromptAudio>, barge_in: bool) -> Self {
        Self { fragments, fragment: 0, offset: 0, looped: false, barge_in, ended: None }
    }

    /// Plays forever (music on hold) until stopped.
    pub fn looped(fragments: Vec<PromptAudio>) -> Self {
        Self { looped: true, ..Self::new(fragments, false) }
    }

    pub fn ended(&self) -> Option<PlaybackEnd> {
        self.ended
    }

    /// Called on a DTMF digit: stops the playback if it allows barge-in. Returns whether it stopped.
    pub fn on_digit(&mut self) -> bool {
        if self.barge_in && self.ended.is_none() {
            self.ended = Some(PlaybackEnd::Interrupted);
            return true;
        }
        false
    }

    /// Stops regardless of barge-in.
    pub fn stop(&mut self) {
        if self.ended.is_none() {
            self.ended = Some(PlaybackEnd::Interrupted);
        }
    }

    /// Fills the next frame; the last frame is padded with silence. `false` once ended.
    pub fn next_frame(&mut self, frame: &mut [i16; SAMPLES_PER_FRAME]) -> bool {
        if self.ended.is_some() {
            return false;
        }
        let total: usize = self.fragments.iter().map(|f| f.len()).sum();
        if total == 0 {
            self.ended = Some(PlaybackEnd::Finished);
            return false;
        }
        let mut filled = 0;
        while filled < SAMPLES_PER_FRAME {
            if self.fragment >= self.fragments.len() {
                if !self.looped {
                    break;
                }
                self.fragment = 0;
            }
            let current = &self.fragments[self.fragment];
            let n = (current.len() - self.offset).min(SAMPLES_PER_FRAME - filled);
            frame[filled..filled + n].copy_from_slice(&current[self.offset..self.offset + n]);
            filled += n;
            self.offset += n;
            if self.offset >= current.len() {
                self.fragment += 1;
                self.offset = 0;
            }
        }
        frame[filled..].fill(0);
        if !self.looped && self.fragment >= self.fragments.len() {
            self.ended = Some(PlaybackEnd::Finished);
        }
        filled > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(v: i16, n: usize) -> PromptAudio {
        vec![v; n].into()
    }

    fn frames(p: &mut Playback, max: usize) -> Vec<[i16; SAMPLES_PER_FRAME]> {
        let mut out = Vec::new();
        let mut f = [0; SAMPLES_PER_FRAME];
        while out.len() < max && p.next_frame(&mut f) {
            out.push(f);
        }
        out
    }

    #[test]
    fn fragments_play_back_to_back_with_the_tail_padded() {
        let mut p = Playback::new(vec![audio(1, 200), audio(2, 100)], false);
        let f = frames(&mut p, 10);
        assert_eq!(f.len(), 2);
        assert!(f[0].iter().all(|&s| s == 1));
        assert_eq!(&f[1][..40], &[1; 40]);
        assert_eq!(&f[1][40..140], &[2; 100]);
        assert_eq!(&f[1][140..], &[0; 20]);
        assert_eq!(p.ended(), Some(PlaybackEnd::Finished));
    }

    #[test]
    fn a_digit_interrupts_a_barge_in_prompt_only() {
        let mut p = Playback::new(vec![audio(1, 8000)], true);
        frames(&mut p, 3);
        assert!(p.on_digit());
        assert_eq!(frames(&mut p, 10).len(), 0);
        assert_eq!(p.ended(), Some(PlaybackEnd::Interrupted));
        let mut q = Playback::new(vec![audio(1, 8000)], false);
        assert!(!q.on_digit());
        assert_eq!(frames(&mut q, 100).len(), 50);
    }

    #[test]
    fn music_on_hold_loops_seamlessly() {
        let mut p = Playback::looped(vec![audio(3, 100)]);
        let f = frames(&mut p, 20);
        assert_eq!(f.len(), 20);
        assert!(f.iter().all(|fr| fr.iter().all(|&s| s == 3)));
        p.stop();
        assert_eq!(frames(&mut p, 1).len(), 0);
    }

    #[test]
    fn cache_is_bounded_by_count_and_samples() {
        let mut c = PromptCache::new(PromptCacheConfig { max_prompts: 2, max_cached_samples: 1000 });
        c.insert("a", vec![0; 400]).expect("room");
        c.insert("b", vec![0; 400]).expect("room");
        assert!(matches!(c.insert("c", vec![0; 10]), Err(AudioError::CacheFull { max: 2 })));
        assert!(matches!(c.insert("a", vec![0; 700]), Err(AudioError::TooLarge { .. })));
        c.insert("a", vec![0; 600]).expect("replacing frees the old size");
        assert!(matches!(c.get("zz"), Err(AudioError::UnknownPrompt(_))));
        assert_eq!(c.sequence(&["a", "b"]).expect("both").len(), 2);
    }
}
