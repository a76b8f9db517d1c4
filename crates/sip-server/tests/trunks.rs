//! SIP trunks against a real provider played by sipp (Debian package `sip-tester`) on loopback:
//! registration with digest auth checked by sipp's `verifyauth` (and refused with a wrong
//! password), un-registration at stop, an outbound call challenged 407 and re-sent with
//! Proxy-Authorization, and trunk addresses exempt from the per-source rate limit.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use sip::sdp::{AudioPolicy, Direction, LocalMedia, create_offer};
use sip_server::{
    CallEvent, CallEvents, DialRequest, DialTarget, PassThrough, RegistrationState, SipServer, SipServerConfig,
    StoreDirectory, Trunk, TrunkStatus,
};

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The trunk the provider scenarios expect: hotline-sh / `password` at 127.0.0.1:`port`.
fn trunk(port: u16, password: &str, register: bool) -> Trunk {
    let mut t = Trunk::new("telecom", loopback(port), model::CountryCode::new(86).expect("86"));
    t.username = "hotline-sh".into();
    t.password = password.into();
    t.register = register;
    t.register_expires_s = 300;
    t.caller_id = "+861088880000".into();
    t.is_default = true;
    t
}

/// Hotline on a port chosen in advance (the provider must be listening before Hotline starts
/// registering, and sipp needs a remote address).
fn config_with(trunk: Trunk) -> SipServerConfig {
    let mut cfg = config();
    cfg.bind = loopback(free_port());
    cfg.trunks = vec![trunk];
    cfg
}

/// sipp as the provider, listening on 127.0.0.1:`port`: returns once its UDP socket is bound
/// (seen in /proc/net/udp, so nothing here races sipp for the port), or after 10 s.
async fn provider(
    scenario_file: &'static str,
    hotline: SocketAddr,
    port: u16,
) -> tokio::task::JoinHandle<(i32, String)> {
    let task = tokio::spawn(async move { sipp(scenario_file, hotline, port, &[]).await });
    let bound = format!("0100007F:{port:04X} ");
    for _ in 0..200 {
        if std::fs::read_to_string("/proc/net/udp").is_ok_and(|table| table.contains(&bound)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task
}

/// Waits up to 5 s for the trunk's status to satisfy `check`; returns the last status seen.
async fn wait_for_trunk(server: &SipServer, check: impl Fn(&TrunkStatus) -> bool) -> TrunkStatus {
    for _ in 0..100 {
        if let Some(status) = server.trunk_status().into_iter().next()
            && check(&status)
        {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.trunk_status().into_iter().next().expect("one trunk")
}

fn state(status: &TrunkStatus) -> Option<RegistrationState> {
    status.registration.as_ref().map(|r| r.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_registers_with_digest_auth_the_provider_verifies_and_unregisters_at_stop() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let provider_port = free_port();
    let cfg = config_with(trunk(provider_port, "s3cret", true));
    let sipp_provider = provider("provider_register.xml", cfg.bind, provider_port).await;
    let server = start(&store, cfg).await;
    let status = wait_for_trunk(&server, |s| state(s) == Some(RegistrationState::Registered)).await;
    let registration = status.registration.expect("a registering trunk");
    assert_eq!(registration.state, RegistrationState::Registered, "{registration:?}");
    assert_eq!(registration.last_status, Some(200));
    assert!(registration.registered_until.is_some_and(|u| u.since(now()).as_ms() <= 60_000), "granted 60 s");
    // Stopping un-registers: the provider challenges the Expires: 0 REGISTER and verifies it.
    server.stop().await;
    let (code, log) = sipp_provider.await.expect("provider");
    assert_eq!(code, 0, "the provider refused something: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_trunk_password_is_refused_by_the_provider_and_reported() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let provider_port = free_port();
    let cfg = config_with(trunk(provider_port, "not-the-password", true));
    let sipp_provider = provider("provider_register.xml", cfg.bind, provider_port).await;
    let server = start(&store, cfg).await;
    let status = wait_for_trunk(&server, |s| state(s) == Some(RegistrationState::Failed)).await;
    let registration = status.registration.expect("a registering trunk");
    assert_eq!(registration.state, RegistrationState::Failed, "{registration:?}");
    assert_eq!(registration.last_status, Some(403));
    assert!(registration.next_attempt_at.is_some(), "retried later");
    let (code, _) = sipp_provider.await.expect("provider");
    assert_ne!(code, 0, "the provider's scenario fails on wrong credentials");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_out_of_the_trunk_answers_the_proxys_407_and_is_answered_acked_and_hung_up() {
    call_out_of_the_trunk("provider_invite_407.xml", "s3cret").await.expect("the call goes through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_out_of_the_trunk_answers_the_providers_401_with_credentials_it_verifies() {
    call_out_of_the_trunk("provider_invite_401.xml", "s3cret").await.expect("the call goes through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_out_of_the_trunk_with_a_wrong_password_is_refused_by_the_provider() {
    let failure = call_out_of_the_trunk("provider_invite_401.xml", "wrong").await.expect_err("refused");
    assert!(failure.contains("status: 403"), "{failure}");
}

/// Dials 021-5000 1000 out of the trunk against the provider `scenario_file`; hangs up once
/// answered. `Err` with what was seen when the call was not answered and hung up.
async fn call_out_of_the_trunk(scenario_file: &'static str, password: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let provider_port = free_port();
    let cfg = config_with(trunk(provider_port, password, false));
    let sipp_provider = provider(scenario_file, cfg.bind, provider_port).await;
    let directory = StoreDirectory { store: store.clone(), org: DEMO_ORG };
    let (server, control, mut events): (SipServer, _, CallEvents) =
        SipServer::start_with_calls(cfg, directory, Box::new(PassThrough)).await.expect("server starts");
    let local = LocalMedia {
        address: "127.0.0.1".parse().expect("ip"),
        rtp_port: 40_010,
        direction: Direction::SendRecv,
        session_id: 3,
        session_version: 1,
    };
    let request = DialRequest {
        // A national landline number: out in E.164 as +862150001000.
        target: DialTarget::Number("021-5000 1000".into()),
        caller_number: "4000".into(),
        caller_display: None,
        extra_headers: Vec::new(),
        offer: Some(create_offer(&local, &AudioPolicy::default())),
        ring_timeout_ms: 10_000,
    };
    let call = control.dial(request).await.expect("dial");
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        seen.push(event.clone());
        match event {
            CallEvent::Answered { call: answered, .. } if answered == call => {
                assert_eq!(server.trunk_status()[0].calls, 1, "one call out of the trunk");
                control.hangup(call).await.expect("hang up");
            }
            CallEvent::Ended { .. } | CallEvent::Failed { .. } => break,
            _ => {}
        }
    }
    let (code, log) = sipp_provider.await.expect("provider");
    assert_eq!(wait_for_trunk(&server, |s| s.calls == 0).await.calls, 0, "the trunk's call count is back to 0");
    server.stop().await;
    let answered = seen.iter().any(|e| matches!(e, CallEvent::Answered { .. }));
    let hung_up = matches!(seen.last(), Some(CallEvent::Ended { by_remote: false, .. }));
    if answered && hung_up && code == 0 { Ok(()) } else { Err(format!("{seen:?}; provider exit {code}: {log}")) }
}

/// Sends `count` OPTIONS from `peer` at once; returns how many were answered.
async fn answered_of(peer: &RawUdp, count: usize, tag: &str) -> usize {
    let host = peer.socket.local_addr().expect("addr").ip().to_string();
    for i in 0..count {
        peer.send(request("OPTIONS", &host, peer.port(), &format!("{tag}{i}"), "").as_bytes()).await;
    }
    let mut answered = 0;
    while peer.recv(300).await.is_some() {
        answered += 1;
    }
    answered
}

#[tokio::test]
async fn trunk_addresses_and_trusted_sources_are_exempt_from_the_rate_limit_others_are_not() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let mut cfg = config();
    cfg.guard.max_messages_per_second = 1;
    cfg.guard.burst_messages = 2;
    cfg.guard.trusted_sources = vec!["127.0.0.4".parse().expect("ip")];
    // A trunk at 127.0.0.2 (not registering: nothing is sent to it).
    let mut t = trunk(5060, "s3cret", false);
    t.address = "127.0.0.2:5060".parse().expect("addr");
    cfg.trunks = vec![t];
    let server = start(&store, cfg).await;
    let trunk_peer = RawUdp::from("127.0.0.2", server.local_addr()).await;
    let trusted_peer = RawUdp::from("127.0.0.4", server.local_addr()).await;
    let other_peer = RawUdp::from("127.0.0.3", server.local_addr()).await;
    assert_eq!(answered_of(&trunk_peer, 10, "trunk").await, 10, "the trunk is never limited");
    assert_eq!(answered_of(&trusted_peer, 10, "trusted").await, 10, "a trusted source is never limited");
    assert_eq!(answered_of(&other_peer, 10, "other").await, 2, "an untrusted source gets its burst only");
    assert_eq!(server.counters().dropped_rate_limited, 8);
    server.stop().await;
}
