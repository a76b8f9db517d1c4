//! Call and server lifecycle: bounded calls and ports, ports freed on close, busy ports skipped,
//! clean shutdown that finalises recordings, clear errors for commands out of order.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Phone, config, start};
use media::bridge::LegId;
use media::codec::Codec;
use media_server::{CallId, LegSpec, MediaServerError};

/// Whether `addr` can be bound again within a second (the server released it).
async fn freed(addr: SocketAddr) -> bool {
    for _ in 0..50 {
        if std::net::UdpSocket::bind(addr).is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn port_exhaustion_is_a_clear_error_and_closing_a_call_frees_its_ports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(25_000, 2, dir.path()));
    let (first, first_addr) = server.allocate_call().await.expect("pair 1");
    let (_second, second_addr) = server.allocate_call().await.expect("pair 2");
    assert_eq!([first_addr.port() % 2, second_addr.port() % 2], [0, 0], "RTP on even ports");
    let third = server.allocate_call().await;
    assert!(matches!(third, Err(MediaServerError::PortsExhausted { first: 25_000, last: 25_003 })), "{third:?}");
    server.close(first).await.expect("close");
    assert!(freed(first_addr).await, "RTP port still bound after close");
    let rtcp = SocketAddr::new(first_addr.ip(), first_addr.port() + 1);
    assert!(freed(rtcp).await, "RTCP port still bound after close");
    let (_, again) = server.allocate_call().await.expect("a pair was freed");
    assert_eq!(again, first_addr);
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn a_port_bound_by_another_process_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let squatter = std::net::UdpSocket::bind("127.0.0.1:25101").expect("free port"); // RTCP of the first pair
    let (server, _events, task) = start(config(25_100, 2, dir.path()));
    let (_, addr) = server.allocate_call().await.expect("second pair is free");
    assert_eq!(addr.port(), 25_102);
    assert_eq!(server.counters().await.expect("running").ports_busy, 1);
    drop(squatter);
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn calls_beyond_max_calls_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(25_200, 8, dir.path());
    cfg.max_calls = 1;
    let (server, _events, task) = start(cfg);
    server.allocate_call().await.expect("first call");
    let second = server.allocate_call().await;
    assert!(matches!(second, Err(MediaServerError::TooManyCalls { max_calls: 1 })), "{second:?}");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn commands_out_of_order_get_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(25_300, 8, dir.path()));
    let phone = Phone::new(Codec::Pcmu).await;
    let spec = LegSpec::new(Codec::Pcmu, phone.addr());
    let unknown = server.connect(CallId(999)).await;
    assert!(matches!(unknown, Err(MediaServerError::NoSuchCall(CallId(999)))), "{unknown:?}");
    let (call, _) = server.allocate_call().await.expect("ports free");
    let early = server.play(call, LegId::Customer, Vec::new(), true).await;
    assert!(matches!(early, Err(MediaServerError::NoCustomerLeg(_))), "{early:?}");
    let unallocated = server.add_leg(call, LegId::Agent, spec.clone(), None).await;
    assert!(matches!(unallocated, Err(MediaServerError::LegNotAllocated { .. })), "{unallocated:?}");
    server.allocate_leg(call, LegId::Agent).await.expect("ports free");
    let agent_first = server.add_leg(call, LegId::Agent, spec.clone(), None).await;
    assert!(matches!(agent_first, Err(MediaServerError::NoCustomerLeg(_))), "{agent_first:?}");
    server.add_leg(call, LegId::Customer, spec, None).await.expect("customer");
    let no_agent = server.play(call, LegId::Agent, Vec::new(), true).await;
    assert!(matches!(no_agent, Err(MediaServerError::NoLeg { leg: LegId::Agent, .. })), "{no_agent:?}");
    let bad_key = server.send_dtmf(call, LegId::Customer, 'x', 100).await;
    assert!(matches!(bad_key, Err(MediaServerError::BadDigit('x'))), "{bad_key:?}");
    let escape = server.start_recording(call, "../escape.wav").await;
    assert!(matches!(escape, Err(MediaServerError::BadRecordingPath(_))), "{escape:?}");
    std::fs::write(dir.path().join("kept.wav"), b"an older recording").expect("write");
    let overwrite = server.start_recording(call, "kept.wav").await;
    assert!(matches!(overwrite, Err(MediaServerError::RecordingExists(_))), "{overwrite:?}");
    assert_eq!(std::fs::read(dir.path().join("kept.wav")).expect("kept"), b"an older recording");
    server.start_recording(call, "r.wav").await.expect("first recording");
    let twice = server.start_recording(call, "r2.wav").await;
    assert!(matches!(twice, Err(MediaServerError::AlreadyRecording(_))), "{twice:?}");
    server.shutdown().await.expect("running");
    task.await.expect("task");
}

#[tokio::test]
async fn shutdown_closes_every_call_finalises_recordings_and_frees_ports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(25_400, 8, dir.path()));
    let phone = Phone::new(Codec::Pcmu).await;
    let (call, local) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, phone.addr()), None).await.expect("leg");
    let path = server.start_recording(call, "open.wav").await.expect("recording");
    phone.send_tone(local, 800.0, 5000.0, 25).await;
    server.shutdown().await.expect("running");
    let counters = task.await.expect("task ends by itself");
    assert_eq!((counters.calls_allocated, counters.calls_closed), (1, 1));
    assert!(counters.datagrams_received >= 20, "{counters:?}");
    // The WAV header was fixed up: its size matches the file.
    let bytes = std::fs::read(&path).expect("recording on disk");
    let riff = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    assert_eq!(riff + 8, bytes.len());
    assert!(bytes.len() > 44 + 4 * 8000 * 4 / 10, "{} bytes for ~0.5 s of stereo", bytes.len());
    assert!(std::net::UdpSocket::bind(local).is_ok(), "port still bound after shutdown");
    let after = server.allocate_call().await;
    assert!(matches!(after, Err(MediaServerError::Stopped)), "{after:?}");
}

#[tokio::test]
async fn dropping_every_handle_stops_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(25_500, 8, dir.path()));
    server.allocate_call().await.expect("ports free");
    drop(server);
    let counters = tokio::time::timeout(Duration::from_secs(2), task).await.expect("stops").expect("no panic");
    assert_eq!(counters.calls_closed, 1);
}

#[tokio::test]
async fn events_beyond_the_queue_are_dropped_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(25_500, 8, dir.path());
    cfg.max_queued_events = 2;
    let (server, _events_never_read, task) = start(cfg);
    let phone = Phone::new(Codec::Pcmu).await;
    let (call, _) = server.allocate_call().await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, phone.addr()), None).await.expect("leg");
    for key in ['1', '2', '3'] {
        server.sip_info_dtmf(call, LegId::Customer, key, 100).await.expect("reported"); // 2 events each
    }
    assert_eq!(server.counters().await.expect("running").dropped_events, 4);
    server.shutdown().await.expect("running");
    task.await.expect("task");
}
