//! Speech analytics throughput: seconds of stereo 8 kHz audio analysed per second of CPU.
//! Criterion's "elem/s" here is *seconds of audio per second* (one element = one audio second).
//! Also the QA sampler over a busy week (100,000 contacts, 500 agents).
//!
//! Run: `cargo bench -p analytics -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use analytics::qa::{Period, SampleCandidate, SamplingPlan, sample};
use analytics::speech::{SpeechConfig, analyse_wav, encode_stereo_wav};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::{AgentId, ContactId, Timestamp};

const RATE_HZ: u32 = 8_000;
const CALL_SECONDS: u64 = 300;

/// A five-minute call: the sides take turns in 4–9 s utterances of syllable-like bursts over hiss.
fn call() -> Vec<u8> {
    let n = (CALL_SECONDS * u64::from(RATE_HZ)) as usize;
    let mut rng = 1u64;
    let mut samples = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f64 / f64::from(RATE_HZ);
        let turn = (t / 6.5) as u64 % 2;
        let syllable_on = (t * 4.0).fract() < 0.6;
        let mut frame = [0i16; 2];
        for (side, slot) in frame.iter_mut().enumerate() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let hiss = ((rng >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 40.0;
            let voice = if turn == side as u64 && syllable_on {
                (t * std::f64::consts::TAU * 300.0).sin() * 3000.0
            } else {
                0.0
            };
            *slot = (hiss + voice) as i16;
        }
        samples.extend_from_slice(&frame);
    }
    encode_stereo_wav(RATE_HZ, &samples)
}

fn candidates() -> Vec<SampleCandidate> {
    (0..100_000u128)
        .map(|i| SampleCandidate {
            contact: ContactId::from_u128(i + 1),
            agent: AgentId::from_u128(i % 500 + 1),
            ended_at: Timestamp::from_unix_ms((i as i64 % 7) * 86_400_000),
            flagged: i % 50 == 0,
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let wav = call();
    let config = SpeechConfig::standard();
    let mut group = c.benchmark_group("speech");
    group.throughput(Throughput::Elements(CALL_SECONDS));
    group.bench_function("analyse_5_minute_stereo_call", |b| {
        b.iter(|| black_box(analyse_wav(black_box(&wav), &config).expect("valid wav")))
    });
    group.finish();

    let all = candidates();
    let week = Period::new(Timestamp::from_unix_ms(0), Timestamp::from_unix_ms(7 * 86_400_000)).expect("valid");
    let plan = SamplingPlan { per_agent: 5, include_flagged: true };
    let mut group = c.benchmark_group("qa");
    group.throughput(Throughput::Elements(all.len() as u64));
    group.bench_function("sample_week_of_100k_contacts_500_agents", |b| {
        b.iter(|| black_box(sample(plan, week, black_box(&all), 42).expect("sampled")))
    });
    group.finish();
}

criterion_group!(analytics_benches, benches);
criterion_main!(analytics_benches);
