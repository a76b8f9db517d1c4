//! Talk-off: real (synthesised) speech must not be taken for DTMF, and digits between phrases
//! must still be found. The fixture `fixtures/speech_8k.wav` is 16.6 s of espeak-ng reading an
//! IVR greeting and digit strings (many of the words are digit names), resampled to 8 kHz by sox.

use media::codec::Codec;
use media::dtmf::DtmfDigit;
use media::inband::{InbandConfig, InbandDetector, tone};

fn speech() -> Vec<i16> {
    let bytes = include_bytes!("fixtures/speech_8k.wav");
    media::wav::load_prompt(bytes, 1 << 20).expect("fixture is a valid WAV")
}

fn detect(samples: &[i16]) -> String {
    InbandDetector::new(InbandConfig::default()).detect(samples).iter().map(|d| d.as_char()).collect()
}

#[test]
fn speech_is_never_taken_for_digits_at_any_level() {
    let s = speech();
    assert!(s.len() > 8000 * 15);
    for gain in [0.5f32, 1.0, 2.0, 4.0] {
        let scaled: Vec<i16> = s.iter().map(|&x| (f32::from(x) * gain).clamp(-32768.0, 32767.0) as i16).collect();
        assert_eq!(detect(&scaled), "", "gain {gain}");
    }
}

#[test]
fn speech_through_g711_is_never_taken_for_digits() {
    for codec in [Codec::Pcmu, Codec::Pcma] {
        let mut coded = Vec::new();
        codec.encode(&speech(), &mut coded);
        let mut decoded = Vec::new();
        codec.decode(&coded, &mut decoded);
        assert_eq!(detect(&decoded), "", "{codec:?}");
    }
}

#[test]
fn digits_between_phrases_are_all_found() {
    let s = speech();
    let mut audio = Vec::new();
    for (i, c) in "8#0".chars().enumerate() {
        audio.extend_from_slice(&s[i * 40_000..i * 40_000 + 16_000]);
        let mut key = vec![0i16; 960]; // 100 ms of tone, 20 ms gap
        tone(DtmfDigit::from_char(c).expect("key"), -12.0, 0, 800, &mut key);
        audio.extend(key);
    }
    assert_eq!(detect(&audio), "8#0");
}
