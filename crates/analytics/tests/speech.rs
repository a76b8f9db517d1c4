//! Talk/silence/overtalk figures on generated stereo WAVs with tones and silence placed at known
//! times. Every figure must land within ±100 ms of what was placed.

use analytics::speech::{
    OutlierPolicy, Segment, SpeechConfig, SpeechError, SpeechFlag, TalkAnalyser, VadConfig, analyse_wav,
    encode_stereo_wav,
};
use proptest::prelude::*;

const RATE_HZ: u32 = 8_000;
const TOLERANCE_MS: u64 = 100;

/// A tone (or a burst train) placed on one channel.
#[derive(Clone, Copy)]
struct Tone {
    start_ms: u64,
    end_ms: u64,
    freq_hz: f64,
    level_dbfs: f64,
    /// `Some((on_ms, off_ms))` chops the tone into syllable-like bursts.
    bursts: Option<(u64, u64)>,
}

fn tone(start_ms: u64, end_ms: u64) -> Tone {
    Tone { start_ms, end_ms, freq_hz: 440.0, level_dbfs: -20.0, bursts: None }
}

/// One channel: tones over a white-noise bed whose level may change at given times.
struct ChannelSpec {
    tones: Vec<Tone>,
    /// `(from_ms, noise_dbfs)` steps; before the first step the line is digitally silent.
    noise: Vec<(u64, f64)>,
}

fn channel(tones: Vec<Tone>) -> ChannelSpec {
    ChannelSpec { tones, noise: vec![(0, -65.0)] }
}

fn render(spec: &ChannelSpec, duration_ms: u64, seed: u64) -> Vec<i16> {
    let n = (duration_ms * u64::from(RATE_HZ) / 1000) as usize;
    let mut rng = seed;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t_ms = i as u64 * 1000 / u64::from(RATE_HZ);
        let t_s = i as f64 / f64::from(RATE_HZ);
        let mut v = 0.0;
        if let Some(&(_, db)) = spec.noise.iter().rev().find(|(from, _)| *from <= t_ms) {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let uniform = ((rng >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0;
            // Uniform noise in [-a, a] has rms a/sqrt(3).
            v += uniform * 32768.0 * 10f64.powf(db / 20.0) * 3f64.sqrt();
        }
        for t in &spec.tones {
            let on = t_ms >= t.start_ms
                && t_ms < t.end_ms
                && t.bursts.is_none_or(|(on, off)| (t_ms - t.start_ms) % (on + off) < on);
            if on {
                v += (2.0 * std::f64::consts::PI * t.freq_hz * t_s).sin()
                    * 32768.0
                    * 10f64.powf(t.level_dbfs / 20.0)
                    * 2f64.sqrt();
            }
        }
        out.push(v.round().clamp(-32768.0, 32767.0) as i16);
    }
    out
}

fn stereo(customer: &ChannelSpec, agent: &ChannelSpec, duration_ms: u64) -> Vec<i16> {
    let left = render(customer, duration_ms, 1);
    let right = render(agent, duration_ms, 2);
    left.iter().zip(&right).flat_map(|(l, r)| [*l, *r]).collect()
}

fn wav(customer: &ChannelSpec, agent: &ChannelSpec, duration_ms: u64) -> Vec<u8> {
    encode_stereo_wav(RATE_HZ, &stereo(customer, agent, duration_ms))
}

fn assert_near(what: &str, got: u64, want: u64) {
    assert!(got.abs_diff(want) <= TOLERANCE_MS, "{what}: got {got} ms, want {want} ms ±{TOLERANCE_MS}");
}

fn assert_segments_near(what: &str, got: &[Segment], want: &[(u64, u64)]) {
    assert_eq!(got.len(), want.len(), "{what}: got segments {got:?}, want {want:?}");
    for (g, (s, e)) in got.iter().zip(want) {
        assert_near(&format!("{what} start"), g.start_ms, *s);
        assert_near(&format!("{what} end"), g.end_ms, *e);
    }
}

#[test]
fn talk_silence_and_overtalk_match_the_placed_tones() {
    // Customer: 1.0–4.0 s and 9.0–12.0 s. Agent: 4.5–9.5 s and 15.0–18.0 s. 20 s call.
    let customer = channel(vec![tone(1_000, 4_000), tone(9_000, 12_000)]);
    let agent = channel(vec![Tone { freq_hz: 700.0, ..tone(4_500, 9_500) }, tone(15_000, 18_000)]);
    let t = analyse_wav(&wav(&customer, &agent, 20_000), &SpeechConfig::standard()).expect("valid wav");

    assert_eq!(t.duration_ms, 20_000);
    assert_segments_near("customer", &t.customer.segments, &[(1_000, 4_000), (9_000, 12_000)]);
    assert_segments_near("agent", &t.agent.segments, &[(4_500, 9_500), (15_000, 18_000)]);
    assert_near("customer talk", t.customer.talk_ms, 6_000);
    assert_near("agent talk", t.agent.talk_ms, 8_000);
    assert_near("overtalk", t.overtalk_ms, 500);
    // Silence: 0–1, 4–4.5, 12–15, 18–20 s.
    assert_near("silence", t.silence_ms, 1_000 + 500 + 3_000 + 2_000);
    assert_near("longest silence", t.longest_silence_ms, 3_000);
    assert_eq!(t.customer.interruptions, 1, "the customer cut in at 9.0 s while the agent talked");
    let ratio = t.agent_to_customer_talk_ratio().expect("customer talked");
    assert!((ratio - 8.0 / 6.0).abs() < 0.05, "talk ratio {ratio}");
}

#[test]
fn pauses_between_syllables_shorter_than_the_hangover_count_as_talk() {
    // 150 ms on / 120 ms off for 3 s: one utterance, not eleven.
    let agent = channel(vec![Tone { bursts: Some((150, 120)), ..tone(2_000, 5_000) }]);
    let t = analyse_wav(&wav(&channel(vec![]), &agent, 8_000), &SpeechConfig::standard()).expect("valid");
    assert_eq!(t.agent.segments.len(), 1, "{:?}", t.agent.segments);
    assert_near("utterance start", t.agent.segments[0].start_ms, 2_000);
    // The last burst starts at 2000 + 11*270 = 4970 ms and runs to the tone's end at 5000 ms.
    assert_near("utterance end", t.agent.segments[0].end_ms, 5_000);
}

#[test]
fn clicks_shorter_than_the_minimum_talk_are_not_talk() {
    let customer = channel(vec![tone(3_000, 3_040), tone(6_000, 6_040)]);
    let t = analyse_wav(&wav(&customer, &channel(vec![]), 10_000), &SpeechConfig::standard()).expect("valid");
    assert_eq!(t.customer.talk_ms, 0);
    assert_eq!(t.longest_silence_ms, 10_000);
}

#[test]
fn steady_hiss_louder_than_the_absolute_gate_is_not_talk() {
    // -42 dBFS hiss is above the -50 dBFS gate: only the adaptive floor keeps it out.
    let hissy = ChannelSpec { tones: vec![tone(4_000, 7_000)], noise: vec![(0, -42.0)] };
    let t = analyse_wav(&wav(&hissy, &channel(vec![]), 12_000), &SpeechConfig::standard()).expect("valid");
    assert_segments_near("customer", &t.customer.segments, &[(4_000, 7_000)]);
}

#[test]
fn quiet_talker_on_a_quiet_line_is_heard() {
    let agent = channel(vec![Tone { level_dbfs: -40.0, ..tone(2_000, 6_000) }]);
    let t = analyse_wav(&wav(&channel(vec![]), &agent, 8_000), &SpeechConfig::standard()).expect("valid");
    assert_segments_near("agent", &t.agent.segments, &[(2_000, 6_000)]);
}

#[test]
fn long_monologue_is_never_taken_for_noise() {
    // 40 s of continuous tone, eight times the noise window.
    let agent = channel(vec![tone(1_000, 41_000)]);
    let t = analyse_wav(&wav(&channel(vec![]), &agent, 42_000), &SpeechConfig::standard()).expect("valid");
    assert_segments_near("agent", &t.agent.segments, &[(1_000, 41_000)]);
}

#[test]
fn after_the_line_gets_noisier_false_talk_lasts_at_most_one_noise_window() {
    let vad = VadConfig::default();
    let customer = ChannelSpec { tones: vec![tone(25_000, 30_000)], noise: vec![(0, -70.0), (10_000, -52.0)] };
    let t = analyse_wav(&wav(&customer, &channel(vec![]), 35_000), &SpeechConfig::standard()).expect("valid");
    let false_talk: u64 = t.customer.segments.iter().filter(|s| s.end_ms <= 20_000).map(Segment::len_ms).sum();
    assert!(false_talk <= u64::from(vad.noise_window_ms) + TOLERANCE_MS, "false talk {false_talk} ms");
    let real = t.customer.segments.last().expect("the tone is heard");
    assert_near("tone start", real.start_ms, 25_000);
    assert_near("tone end", real.end_ms, 30_000);
}

#[test]
fn streaming_in_odd_chunks_gives_the_same_figures_as_the_whole_file() {
    let customer = channel(vec![tone(500, 2_500)]);
    let agent = channel(vec![tone(2_000, 4_000)]);
    let samples = stereo(&customer, &agent, 5_000);
    let whole = analyse_wav(&encode_stereo_wav(RATE_HZ, &samples), &SpeechConfig::standard()).expect("valid");
    let mut analyser = TalkAnalyser::new(&VadConfig::default(), RATE_HZ).expect("valid config");
    for chunk in samples.chunks(333) {
        analyser.push_interleaved(chunk);
    }
    assert_eq!(analyser.finish(), whole);
}

#[test]
fn a_long_dead_air_call_is_flagged_for_qa() {
    let customer = channel(vec![tone(1_000, 10_000)]);
    let agent = channel(vec![tone(11_000, 20_000), tone(58_000, 60_000)]);
    let t = analyse_wav(&wav(&customer, &agent, 61_000), &SpeechConfig::standard()).expect("valid");
    let flags = OutlierPolicy::default().flags(&t);
    assert!(
        flags.iter().any(|f| matches!(f, SpeechFlag::LongSilence { longest_silence_ms, .. } if longest_silence_ms.abs_diff(38_000) <= TOLERANCE_MS)),
        "{flags:?}"
    );
}

#[test]
fn recording_over_the_length_limit_is_refused() {
    let bytes = wav(&channel(vec![]), &channel(vec![]), 2_000);
    let config = SpeechConfig { max_recording_ms: 1_000, ..SpeechConfig::standard() };
    assert_eq!(analyse_wav(&bytes, &config), Err(SpeechError::TooLong { duration_ms: 2_000, max_recording_ms: 1_000 }));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = analyse_wav(&bytes, &SpeechConfig::standard());
    }

    #[test]
    fn corrupted_header_of_a_real_file_never_panics(pos in 0usize..44, byte in any::<u8>()) {
        let mut bytes = wav(&channel(vec![tone(100, 300)]), &channel(vec![]), 500);
        bytes[pos] = byte;
        let _ = analyse_wav(&bytes, &SpeechConfig::standard());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// One utterance per side placed anywhere (millisecond resolution, any overlap): every figure
    /// is within ±100 ms of the figures of the placed segments. Four edges, each off by at most
    /// one 20 ms frame, bound the error at 80 ms.
    #[test]
    fn figures_follow_tones_placed_anywhere(
        (a, b) in (200u64..9_000).prop_flat_map(|a| (Just(a), a + 400..11_800)),
        (c, d) in (200u64..9_000).prop_flat_map(|c| (Just(c), c + 400..11_800)),
    ) {
        let t = analyse_wav(&wav(&channel(vec![tone(a, b)]), &channel(vec![Tone { freq_hz: 620.0, ..tone(c, d) }]), 12_000), &SpeechConfig::standard())
            .expect("valid");
        let placed = analytics::speech::TalkAnalysis::from_segments(
            12_000,
            vec![Segment { start_ms: a, end_ms: b }],
            vec![Segment { start_ms: c, end_ms: d }],
        );
        for (what, got, want) in [
            ("customer talk", t.customer.talk_ms, placed.customer.talk_ms),
            ("agent talk", t.agent.talk_ms, placed.agent.talk_ms),
            ("overtalk", t.overtalk_ms, placed.overtalk_ms),
            ("silence", t.silence_ms, placed.silence_ms),
            ("longest silence", t.longest_silence_ms, placed.longest_silence_ms),
        ] {
            prop_assert!(got.abs_diff(want) <= TOLERANCE_MS, "{}: got {} want {} (customer {}..{}, agent {}..{})", what, got, want, a, b, c, d);
        }
    }
}
