//! Packets per second per core for the three hot paths of the media engine:
//! relay (codecs match), relay + stereo recording to a file, and relay with µ-law → A-law
//! transcoding. Each measured routine is 10 s of a two-party call: 500 ticks of 20 ms, each with one
//! packet from the customer and one from the agent, so 1000 packets per routine call.
//! Run: `cargo bench -p media -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use media::bridge::{Bridge, BridgeConfig, LegId};
use media::codec::Codec;
use media::leg::LegConfig;
use media::recorder::RecorderConfig;
use media::rtp::{RtpHeader, write_simple};
use media::stats::NtpClock;

const TICKS: usize = 500;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("bench address")
}

fn bridge(customer: Codec, agent: Codec) -> (Bridge, Instant) {
    let t0 = Instant::now();
    let mut b = Bridge::new(
        t0,
        BridgeConfig::new(NtpClock::new(t0, 0)),
        LegConfig::new(customer, addr("127.0.0.1:40000"), 1, 1, 1),
    );
    b.add_agent(t0, LegConfig::new(agent, addr("127.0.0.1:50000"), 2, 2, 2));
    b.connect();
    (b, t0)
}

/// Pre-built datagrams for every tick (building them is not what we measure).
fn packets(codec: Codec, ssrc: u32) -> Vec<Vec<u8>> {
    (0..TICKS)
        .map(|i| {
            let samples: Vec<i16> = (0..160).map(|n| (((i * 160 + n) as f64 * 0.3).sin() * 6000.0) as i16).collect();
            let mut payload = Vec::new();
            codec.encode(&samples, &mut payload);
            let header = RtpHeader {
                payload_type: codec.payload_type(),
                sequence: i as u16,
                timestamp: (i * 160) as u32,
                ssrc,
                ..Default::default()
            };
            let mut out = Vec::new();
            write_simple(&header, &payload, &mut out).expect("valid");
            out
        })
        .collect()
}

fn run_call(b: &mut Bridge, t0: Instant, customer: &[Vec<u8>], agent: &[Vec<u8>]) -> usize {
    let (c_addr, a_addr) = (addr("127.0.0.1:40000"), addr("127.0.0.1:50000"));
    let mut sent = 0;
    for i in 0..TICKS {
        let now = t0 + Duration::from_millis(20 * i as u64 + 1);
        b.handle_packet(now, LegId::Customer, c_addr, &customer[i]);
        b.handle_packet(now, LegId::Agent, a_addr, &agent[i]);
        b.handle_timeout(now);
        while let Some(t) = b.poll_transmit() {
            sent += black_box(t.contents.len());
        }
        while b.poll_event().is_some() {}
    }
    sent
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("media");
    g.throughput(Throughput::Elements(2 * TICKS as u64));
    let (cu, au, aa) = (packets(Codec::Pcmu, 10), packets(Codec::Pcmu, 20), packets(Codec::Pcma, 20));

    g.bench_function("relay_pcmu_pcmu", |bench| {
        bench.iter_batched_ref(
            || bridge(Codec::Pcmu, Codec::Pcmu),
            |(b, t0)| run_call(b, *t0, &cu, &au),
            BatchSize::PerIteration,
        )
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.wav");
    g.bench_function("relay_and_record_to_file", |bench| {
        bench.iter_batched_ref(
            || {
                let (mut b, t0) = bridge(Codec::Pcmu, Codec::Pcmu);
                let rec = media::files::create_recording(&path, RecorderConfig::default()).expect("file");
                b.start_recording(Box::new(rec));
                (b, t0)
            },
            |(b, t0)| run_call(b, *t0, &cu, &au),
            BatchSize::PerIteration,
        )
    });

    g.bench_function("relay_transcode_pcmu_to_pcma", |bench| {
        bench.iter_batched_ref(
            || bridge(Codec::Pcmu, Codec::Pcma),
            |(b, t0)| run_call(b, *t0, &cu, &aa),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("g711");
    g.throughput(Throughput::Elements(1));
    let mut payload = cu[0][12..].to_vec();
    g.bench_function("transcode_160_bytes_pcmu_to_pcma", |bench| {
        bench.iter(|| Codec::Pcmu.transcode_in_place(Codec::Pcma, black_box(&mut payload)))
    });
    g.finish();
}

criterion_group!(media_benches, benches);
criterion_main!(media_benches);
