//! Sealing throughput and ranged-read latency of recordings at rest.
//!
//! A 10-minute stereo 8 kHz 16-bit call is 19.2 MB; sealing it is one pass of XChaCha20-Poly1305
//! plus an fsync. An HTTP Range request for 64 KiB touches one or two chunks.
//!
//! Run: `cargo bench -p recordings -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use recordings::{Keyring, NoncePrefix, RecordingFile, RecordingKey, encrypt_in_place};

/// Ten minutes of stereo 8 kHz 16-bit audio.
const CALL_BYTES: usize = 10 * 60 * 8_000 * 2 * 2;

fn call_bytes() -> Vec<u8> {
    (0..CALL_BYTES).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let key = RecordingKey::new("bench", [7; 32]).expect("key");
    let plain = call_bytes();
    let mut g = c.benchmark_group("at_rest");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(CALL_BYTES as u64));
    let path = dir.path().join("call.wav");
    g.bench_function("seal_10_min_call_in_place", |b| {
        b.iter_batched(
            || std::fs::write(&path, &plain).expect("write"),
            |()| encrypt_in_place(&path, &key, NoncePrefix::random().expect("nonce")).expect("seal"),
            BatchSize::PerIteration,
        )
    });
    let sealed = dir.path().join("sealed.wav");
    std::fs::write(&sealed, &plain).expect("write");
    encrypt_in_place(&sealed, &key, NoncePrefix::random().expect("nonce")).expect("seal");
    let keys = Keyring::new(vec![key.clone()], "bench").expect("ring");
    let mut f = RecordingFile::open(&sealed, &keys).expect("open");
    g.throughput(Throughput::Bytes(64 * 1024));
    let mut at = 0u64;
    g.bench_function("range_64k_across_a_chunk_boundary", |b| {
        b.iter(|| {
            at = (at + 1_000_003) % (CALL_BYTES as u64 - 70_000);
            black_box(f.read_range(at..at + 65_536, 1 << 20).expect("range"))
        })
    });
    g.bench_function("open_sealed_recording", |b| {
        b.iter(|| black_box(RecordingFile::open(&sealed, &keys).expect("open")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
