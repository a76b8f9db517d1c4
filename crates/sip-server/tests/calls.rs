//! Calls through the B2BUA against real SIP peers (sipp, Debian package `sip-tester`) on
//! loopback: a test application drives inbound calls through `CallControl`, and direct dial
//! bridges a caller to a registered extension with no application at all.

mod common;

use std::time::Duration;

use common::*;
use sip::sdp::{AudioPolicy, Direction, LocalMedia, SessionDescription, answer_offer};
use sip_server::{
    CallControl, CallEvent, CallEvents, EndReason, PassThrough, SipServer, SipServerConfig, StoreDirectory,
};

/// How the test application reacts to an event.
#[derive(Clone, Copy)]
enum Policy {
    /// Ring, then answer every offer (hold re-INVITEs included) with PCMU at 127.0.0.1:40000.
    Answer,
    /// Ring and never answer.
    RingOnly,
    /// Answer, and hang up when the caller presses #.
    AnswerThenHangUpOnPound,
}

async fn start_with_app(store: &store::Store, config: SipServerConfig) -> (SipServer, CallControl, CallEvents) {
    let directory = StoreDirectory { store: store.clone(), org: DEMO_ORG };
    SipServer::start_with_calls(config, directory, Box::new(PassThrough)).await.expect("server starts")
}

fn our_answer(offer: &SessionDescription, version: u64) -> SessionDescription {
    let local = LocalMedia {
        address: "127.0.0.1".parse().expect("ip"),
        rtp_port: 40_000,
        direction: Direction::SendRecv,
        session_id: 7,
        session_version: version,
    };
    answer_offer(offer, &local, &AudioPolicy::default()).expect("a common codec").0
}

/// Runs the application until `ends` legs ended (or 25 s passed); returns every event seen.
fn run_app(
    control: CallControl,
    mut events: CallEvents,
    policy: Policy,
    ends: usize,
) -> tokio::task::JoinHandle<Vec<CallEvent>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        let mut ended = 0;
        let mut version = 1;
        while ended < ends {
            let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(25), events.recv()).await else { break };
            version += 1;
            match &event {
                CallEvent::Incoming { call, offer, .. } => {
                    control.ring(*call, None).await.expect("ring");
                    if !matches!(policy, Policy::RingOnly) {
                        let offer = offer.as_ref().expect("the scenarios send an offer");
                        control.answer(*call, our_answer(offer, version)).await.expect("answer");
                    }
                }
                CallEvent::Hold { call, offer, .. } => {
                    control.answer(*call, our_answer(offer, version)).await.expect("answer the re-INVITE");
                }
                CallEvent::Dtmf { call, key: '#', .. } if matches!(policy, Policy::AnswerThenHangUpOnPound) => {
                    control.hangup(*call).await.expect("hang up");
                }
                CallEvent::Ended { .. } | CallEvent::Failed { .. } => ended += 1,
                _ => {}
            }
            seen.push(event);
        }
        seen
    })
}

fn app_config() -> SipServerConfig {
    let mut cfg = config();
    cfg.entry_points = vec!["4000".into()];
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_is_answered_gets_dtmf_by_info_and_ends_with_the_callers_bye() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let (server, control, events) = start_with_app(&store, app_config()).await;
    let app = run_app(control, events, Policy::Answer, 1);
    let (code, log) = sipp("uac_call.xml", server.local_addr(), free_port(), &["-s", "4000"]).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let seen = app.await.expect("app");
    let Some(CallEvent::Incoming { dialled, caller, offer, .. }) = seen.first() else { panic!("{seen:?}") };
    assert_eq!(dialled, "4000");
    assert_eq!(caller.number, "+8613800138000");
    assert_eq!(caller.display.as_deref(), Some("Customer"));
    assert!(offer.is_some());
    assert!(seen.iter().any(|e| matches!(e, CallEvent::Dtmf { key: '5', duration_ms: 160, .. })), "{seen:?}");
    assert!(matches!(seen.last(), Some(CallEvent::Ended { by_remote: true, reason: EndReason::Bye, .. })), "{seen:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_to_a_wildcard_the_call_names_the_advertised_address_in_its_contact() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let mut config = app_config();
    config.bind = "0.0.0.0:0".parse().expect("addr");
    config.advertise = Some("127.0.0.1".parse().expect("ip"));
    let (server, control, events) = start_with_app(&store, config).await;
    let app = run_app(control, events, Policy::Answer, 1);
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], server.local_addr().port()));
    let (code, log) = sipp("uac_call_advertised.xml", target, free_port(), &["-s", "4000"]).await;
    assert_eq!(code, 0, "the 200's Contact must be 127.0.0.1, not the wildcard: {log}");
    let seen = app.await.expect("app");
    assert!(matches!(seen.last(), Some(CallEvent::Ended { by_remote: true, reason: EndReason::Bye, .. })), "{seen:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_before_the_answer_gets_200_and_the_invite_487() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let (server, control, events) = start_with_app(&store, app_config()).await;
    let app = run_app(control, events, Policy::RingOnly, 1);
    let (code, log) = sipp("uac_cancel.xml", server.local_addr(), free_port(), &["-s", "4000"]).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let seen = app.await.expect("app");
    assert!(
        matches!(seen.last(), Some(CallEvent::Ended { by_remote: true, reason: EndReason::Cancelled, .. })),
        "{seen:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_puts_the_call_on_hold_and_another_resumes_it() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let (server, control, events) = start_with_app(&store, app_config()).await;
    let app = run_app(control, events, Policy::Answer, 1);
    let (code, log) = sipp("uac_hold.xml", server.local_addr(), free_port(), &["-s", "4000"]).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let seen = app.await.expect("app");
    let holds: Vec<bool> = seen
        .iter()
        .filter_map(|e| match e {
            CallEvent::Hold { held, .. } => Some(*held),
            _ => None,
        })
        .collect();
    assert_eq!(holds, vec![true, false], "{seen:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_hangs_up_with_a_bye_the_caller_answers() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let (server, control, events) = start_with_app(&store, app_config()).await;
    let app = run_app(control, events, Policy::AnswerThenHangUpOnPound, 1);
    let (code, log) = sipp("uac_callee_bye.xml", server.local_addr(), free_port(), &["-s", "4000"]).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let seen = app.await.expect("app");
    assert!(
        matches!(seen.last(), Some(CallEvent::Ended { by_remote: false, reason: EndReason::Local, .. })),
        "{seen:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_complete_over_lossy_udp_thanks_to_retransmissions() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let (server, control, events) = start_with_app(&store, app_config()).await;
    let app = run_app(control, events, Policy::Answer, 5);
    // sipp drops 10 % of what it sends and receives; the INVITE, the 200 (until ACKed) and the
    // BYE are retransmitted until they get through.
    let args = ["-s", "4000", "-m", "5", "-l", "1", "-lost", "10"];
    let (code, log) = sipp("uac_bye.xml", server.local_addr(), free_port(), &args).await;
    assert_eq!(code, 0, "sipp failed: {log}");
    let seen = app.await.expect("app");
    let ended = seen.iter().filter(|e| matches!(e, CallEvent::Ended { reason: EndReason::Bye, .. })).count();
    assert_eq!(ended, 5, "{seen:?}");
    server.stop().await;
}

const GOOD_SDP: &str =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n";

fn invite(peer: &RawUdp, dialled: &str, branch: &str, content_type: &str, body: &str) -> String {
    format!(
        "INVITE sip:{dialled}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{branch};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:+8613800138000@127.0.0.1>;tag=f{branch}\r\n\
To: <sip:{dialled}@127.0.0.1>\r\n\
Call-ID: {branch}@test\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:caller@127.0.0.1:{port}>\r\n\
Content-Type: {content_type}\r\n\
Content-Length: {len}\r\n\r\n{body}",
        port = peer.port(),
        len = body.len()
    )
}

/// The first final response to what `peer` just sent (skipping 100 Trying).
async fn final_answer(peer: &RawUdp) -> String {
    loop {
        let answer = peer.recv(3_000).await.expect("an answer");
        if status(&answer) >= 200 {
            return answer;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sdp_is_400_no_common_codec_488_and_every_unknown_number_the_same_404() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let (server, control, events) = start_with_app(&store, app_config()).await;
    let app = run_app(control, events, Policy::Answer, 0);
    let peer = RawUdp::new(server.local_addr()).await;

    peer.send(invite(&peer, "4000", "bad1", "application/sdp", "this is not SDP").as_bytes()).await;
    assert_eq!(status(&final_answer(&peer).await), 400);
    let g729 = GOOD_SDP.replace("RTP/AVP 0", "RTP/AVP 18");
    peer.send(invite(&peer, "4000", "bad2", "application/sdp", &g729).as_bytes()).await;
    assert_eq!(status(&final_answer(&peer).await), 488);

    // 1002 is an agent of the Demo Shop (not registered); 9999 is nobody: the same answer.
    peer.send(invite(&peer, "1002", "who1", "application/sdp", GOOD_SDP).as_bytes()).await;
    let agent = final_answer(&peer).await;
    peer.send(invite(&peer, "9999", "who2", "application/sdp", GOOD_SDP).as_bytes()).await;
    let nobody = final_answer(&peer).await;
    assert_eq!(status(&agent), 404, "{agent}");
    assert_eq!(shape_of(&agent, "1002"), shape_of(&nobody, "9999"));
    server.stop().await;
    app.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_dial_bridges_a_caller_to_a_registered_extension() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    // No application: the server bridges calls to registered extensions on its own.
    let server = start(&store, config()).await;
    let phone = free_port();
    let register = ["-s", "1002", "-au", "1002", "-ap", "demo1002"];
    let (code, log) = sipp("register.xml", server.local_addr(), phone, &register).await;
    assert_eq!(code, 0, "registration failed: {log}");
    let addr = server.local_addr();
    let agent = tokio::spawn(async move { sipp("uas_answer.xml", addr, phone, &[]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, log) = sipp("uac_bye.xml", server.local_addr(), free_port(), &["-s", "1002"]).await;
    assert_eq!(code, 0, "caller failed: {log}");
    let (code, log) = agent.await.expect("agent");
    assert_eq!(code, 0, "agent phone failed: {log}");
    server.stop().await;
}
