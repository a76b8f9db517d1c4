//! The IVR's HTTP lookups over real HTTP: a flow on number 4100 asks a server on 127.0.0.1 about
//! the caller and branches on the answer's `tier` field; a sipp caller dials it. One call per
//! branch: the answer, a server too slow for the node's timeout, and a server error.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Rig, free_port, sipp};
use model::{ContactOutcome, ContactStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The lookup service: answers by the caller number in the query.
/// `...01` → `{"tier":"gold"}`, `...02` → nothing for 5 s (longer than the node's 1 s timeout),
/// anything else → 500. Every request line is kept.
async fn lookup_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let log = log.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request).into_owned();
                let line = text.lines().next().unwrap_or_default().to_owned();
                log.lock().expect("log").push(line.clone());
                let (status, body) = if line.contains("caller=%2B8613800000001") {
                    ("200 OK", r#"{"tier":"gold","account":{"name":"Li Lei"}}"#)
                } else if line.contains("caller=%2B8613800000002") {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    ("200 OK", r#"{"tier":"gold"}"#)
                } else {
                    ("500 Internal Server Error", r#"{"error":"down"}"#)
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, seen)
}

fn flow(port: u16) -> String {
    format!(
        r#"
version = 1
id = "tier_check"
numbers = ["4100"]
entry_point = "hotline"
languages = ["zh-CN", "en"]
start = "ask_crm"

[[node]]
id = "ask_crm"
type = "lookup"
lookup = "http"
url = "http://127.0.0.1:{port}/tier"
params = {{ caller = "{{caller}}", line = "{{dialled}}" }}
branch_on = "tier"
branches = {{ gold = "gold_caller" }}
timeout = "1s"
found = "other_caller"
not_found = "unknown_caller"
error = "lookup_failed"

[[node]]
id = "gold_caller"
type = "hangup"

[[node]]
id = "other_caller"
type = "hangup"

[[node]]
id = "unknown_caller"
type = "hangup"

[[node]]
id = "lookup_failed"
type = "hangup"
outcome = "error"
"#
    )
}

async fn call(rig: &Rig, caller: &str) -> model::Contact {
    let sipp = sipp("caller_waits_for_bye.xml", rig.sip_addr(), free_port(), caller, &["-s", "4100"]);
    let (code, log) = sipp.finish().await;
    assert_eq!(code, 0, "caller {caller}: {log}");
    rig.wait_for_contact(|c| c.from_address == caller && c.status == ContactStatus::Ended).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_lookup_branches_on_the_answer_and_takes_the_error_branch_on_timeout_or_server_error() {
    let (port, seen) = lookup_server().await;
    let rig = Rig::start_with_flow(26_600, &flow(port)).await;

    let gold = call(&rig, "+8613800000001").await;
    assert_eq!(gold.ivr_path, ["ask_crm", "gold_caller"], "{gold:#?}");
    assert_eq!(gold.outcome, Some(ContactOutcome::SelfServed), "{gold:#?}");

    let slow = call(&rig, "+8613800000002").await;
    assert_eq!(slow.ivr_path, ["ask_crm", "lookup_failed"], "{slow:#?}");
    assert_eq!(slow.outcome, Some(ContactOutcome::Failed), "{slow:#?}");

    let failing = call(&rig, "+8613800000003").await;
    assert_eq!(failing.ivr_path, ["ask_crm", "lookup_failed"], "{failing:#?}");

    // The node's params went out as the query string, URL-encoded.
    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|l| l.starts_with("GET /tier?") && l.contains("line=4100")), "{seen:?}");
    let counters = rig.voice.as_ref().expect("voice").counters();
    assert_eq!((counters.http_lookups, counters.http_lookups_failed), (3, 2), "{counters:?}");
}
