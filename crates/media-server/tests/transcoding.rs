//! Transcoded calls over real UDP, recorded to a file: each side's tone must be found (Goertzel)
//! on its own channel of the stereo WAV (customer left, agent right) and in what the other phone
//! hears, for PCMA↔PCMU both ways, and for a caller that keeps sending the law it offered first
//! although it was answered with the other one (the silent customer channel of a PCMA caller
//! bridged to a PCMU softphone).

mod common;

use std::time::Duration;

use common::{Phone, config, goertzel_share, start, voiced};
use media::bridge::LegId;
use media::codec::Codec;
use media_server::LegSpec;

const CUSTOMER_HZ: f64 = 1000.0;
const AGENT_HZ: f64 = 440.0;

/// What a call showed: the recorded left and right channels (voiced frames only) and what each
/// phone heard (voiced frames only).
struct Heard {
    left: Vec<i16>,
    right: Vec<i16>,
    customer_heard: Vec<i16>,
    agent_heard: Vec<i16>,
}

/// One recorded call: the customer phone sends `CUSTOMER_HZ` in `customer_sends` on a leg answered
/// as `customer_leg`, the agent phone `AGENT_HZ` in `agent`, 1.2 s each, at the same time.
async fn recorded_call(first_port: u16, customer_leg: Codec, customer_sends: Codec, agent: Codec) -> Heard {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _events, task) = start(config(first_port, 8, dir.path()));
    let customer = Phone::new(customer_sends).await;
    let agent_phone = Phone::new(agent).await;
    let (call, c_leg) = server.allocate_call().await.expect("ports free");
    let a_leg = server.allocate_leg(call, LegId::Agent).await.expect("ports free");
    server.add_leg(call, LegId::Customer, LegSpec::new(customer_leg, customer.addr()), None).await.expect("customer");
    server.add_leg(call, LegId::Agent, LegSpec::new(agent, agent_phone.addr()), None).await.expect("agent");
    server.connect(call).await.expect("connect");
    let path = server.start_recording(call, "call.wav").await.expect("recording starts");
    let (c_heard, a_heard, (), ()) = tokio::join!(
        customer.receive_for(Duration::from_millis(1500)),
        agent_phone.receive_for(Duration::from_millis(1500)),
        customer.send_tone(c_leg, CUSTOMER_HZ, 6000.0, 60),
        agent_phone.send_tone(a_leg, AGENT_HZ, 6000.0, 60),
    );
    let report = server.close(call).await.expect("closed");
    report.recording.expect("was recording").expect("finished cleanly");
    let wav = media::wav::read_wav(&std::fs::read(&path).expect("recording"), u64::MAX).expect("a valid WAV");
    assert_eq!(wav.channels, 2);
    let channel = |c: usize| -> Vec<i16> { wav.samples.iter().skip(c).step_by(2).copied().collect() };
    let heard = Heard {
        left: voiced(&channel(0)),
        right: voiced(&channel(1)),
        customer_heard: voiced(&c_heard.samples),
        agent_heard: voiced(&a_heard.samples),
    };
    server.shutdown().await.expect("running");
    task.await.expect("task");
    heard
}

/// At least `min_s` seconds of audio in which `own` dominates and `other` is absent.
fn assert_tone(what: &str, samples: &[i16], own: f64, other: f64) {
    let seconds = samples.len() as f64 / 8000.0;
    let (own_share, other_share) = (goertzel_share(samples, own), goertzel_share(samples, other));
    assert!(
        seconds >= 0.8 && own_share > 0.8 && other_share < 0.05,
        "{what}: {seconds:.2} s voiced, {own} Hz share {own_share:.3}, {other} Hz share {other_share:.3}"
    );
}

fn assert_both_sides(h: &Heard) {
    assert_tone("recording, left (customer)", &h.left, CUSTOMER_HZ, AGENT_HZ);
    assert_tone("recording, right (agent)", &h.right, AGENT_HZ, CUSTOMER_HZ);
    assert_tone("what the agent hears", &h.agent_heard, CUSTOMER_HZ, AGENT_HZ);
    assert_tone("what the customer hears", &h.customer_heard, AGENT_HZ, CUSTOMER_HZ);
}

#[tokio::test]
async fn a_pcma_caller_and_a_pcmu_agent_are_each_recorded_on_their_own_channel() {
    assert_both_sides(&recorded_call(26_400, Codec::Pcma, Codec::Pcma, Codec::Pcmu).await);
}

#[tokio::test]
async fn a_pcmu_caller_and_a_pcma_agent_are_each_recorded_on_their_own_channel() {
    assert_both_sides(&recorded_call(26_500, Codec::Pcmu, Codec::Pcmu, Codec::Pcma).await);
}

/// The caller offered PCMA first, we answered PCMU (our preference), and it sends PCMA anyway, as
/// sipp's `play_pcap_audio` of `g711a.pcap` does.
#[tokio::test]
async fn a_caller_answered_pcmu_that_sends_pcma_is_recorded_and_heard() {
    assert_both_sides(&recorded_call(26_600, Codec::Pcmu, Codec::Pcma, Codec::Pcmu).await);
}

#[tokio::test]
async fn a_caller_answered_pcma_that_sends_pcmu_is_recorded_and_heard() {
    assert_both_sides(&recorded_call(26_700, Codec::Pcma, Codec::Pcmu, Codec::Pcma).await);
}
