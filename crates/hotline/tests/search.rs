//! Keyword search through the real binary, as users reach it: `GET /api/search` over HTTP on a
//! running `hotline demo`.
//!
//! - A web chat over a real WebSocket (the widget's protocol) in which the customer writes
//!   "我要投诉", and a GBK-encoded email through the SMTP listener asking for "退款" that the
//!   agent answers over HTTP: both are found with `<mark>` highlights, the kind, agent and time
//!   filters narrow them, and an agent sees only their own contacts.
//! - A contact with two recordings whose transcripts were indexed by the transcriber's numbering:
//!   a hit in the second recording names that recording and the offset in it.
//! - The retention sweep deleting a recording removes its transcript from search and keeps the
//!   other recording's.

#[path = "common/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "common/session.rs"]
#[allow(dead_code)] // each test binary uses part of it
mod session;
#[path = "common/widget.rs"]
mod widget;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use lettre::address::Envelope;
use lettre::{SmtpTransport, Transport};
use model::{Channel, Contact, ContactId, Direction, DurationMs, Recording, RecordingId, Timestamp};
use serde_json::{Value, json};
use server::{Server, demo_agent, eventually, free_port, now_ms, store_at};
use session::Session;
use widget::{say, until, widget};

const DAY_MS: i64 = 86_400_000;

/// A minimal SMTP smarthost that accepts every message (the agent's reply goes there).
fn smarthost() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind smarthost");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let _ = stream.write_all(b"220 sink ESMTP\r\n");
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let reply: &[u8] = match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                        "DATA" => {
                            let _ = stream.write_all(b"354 go ahead\r\n");
                            let mut l = String::new();
                            while reader.read_line(&mut l).unwrap_or(0) > 0 && l != ".\r\n" {
                                l.clear();
                            }
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = stream.write_all(b"221 bye\r\n");
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = stream.write_all(reply);
                }
            });
        }
    });
    port
}

/// `GET /api/search?{query}`: the hits.
fn search(session: &Session, query: &str) -> Vec<Value> {
    let v = session.ok("GET", &format!("/api/search?{query}"), None);
    v["items"].as_array().cloned().unwrap_or_default()
}

fn hits_of(items: &[Value], contact: &str) -> Vec<Value> {
    items.iter().filter(|h| h["contact"] == contact).cloned().collect()
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[test]
fn chat_and_email_texts_are_found_with_highlights_filters_and_each_agent_sees_only_their_own() {
    let tmp = tempfile::tempdir().expect("tmp");
    let smtp = free_port();
    let config = format!(
        "[email]\nsmtp_listen = \"127.0.0.1:{smtp}\"\ndomain = \"shop.test\"\nsupport_address = \
         \"support@shop.test\"\nsmarthost = \"127.0.0.1:{}\"\nauto_acknowledge = false\n",
        smarthost()
    );
    let server = Server::start(tmp.path(), Some(&config));
    let started_ms = now_ms();
    let a1001 = Session::login(&server.base, "1001", "demo1001");
    let a1002 = Session::login(&server.base, "1002", "demo1002");
    let supervisor = Session::login(&server.base, "supervisor", "demosuper");
    let (id1001, id1002) = (demo_agent("1001").to_string(), demo_agent("1002").to_string());

    // A web chat: agent 1001 takes it, the customer complains, the agent ends it.
    a1001.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let mut ws = widget(&server.base);
    say(&mut ws, json!({"type": "hello", "v": 1}));
    until(&mut ws, "welcome");
    say(&mut ws, json!({"type": "prechat", "name": "王小明", "issue_type": "order", "language": "zh-CN"}));
    let chat = eventually(30, "the chat offered to 1001", || a1001.my_contacts("1001").into_iter().next());
    a1001.ok("POST", &format!("/api/contacts/{chat}/accept"), None);
    say(&mut ws, json!({"type": "msg", "client_msg_id": "c1", "text": "快递一直不到，我要投诉！"}));
    until(&mut ws, "ack");
    a1001.ok("POST", &format!("/api/contacts/{chat}/end"), None);
    a1001.ok("PUT", "/api/me/state", Some(json!({"state": "offline"})));

    // A GBK email asking for a refund: agent 1002 takes it and answers.
    a1002.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let mut gbk = b"From: xiaoming@customer.test\r\nTo: support@shop.test\r\nSubject: order DS-1002\r\n\
Message-ID: <refund-1@customer.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=GBK\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    // "我要退款" in GBK.
    gbk.extend_from_slice(&[0xce, 0xd2, 0xd2, 0xaa, 0xcd, 0xcb, 0xbf, 0xee, 0x0d, 0x0a]);
    let envelope = Envelope::new(
        Some("xiaoming@customer.test".parse().expect("from")),
        vec!["support@shop.test".parse().expect("to")],
    )
    .expect("envelope");
    let mailer = SmtpTransport::builder_dangerous("127.0.0.1").port(smtp).build();
    mailer.send_raw(&envelope, &gbk).expect("the listener accepts the GBK message");
    let email = eventually(30, "the email offered to 1002", || a1002.my_contacts("1002").into_iter().next());
    a1002.ok("POST", &format!("/api/contacts/{email}/accept"), None);
    a1002.ok("POST", &format!("/api/contacts/{email}/email/reply"), Some(json!({"body": "已为您办理补偿，请查收。"})));

    // The supervisor finds the complaint in the chat, highlighted, with its agent and channel.
    let q = enc("投诉");
    let chat_hits = eventually(30, "the chat message indexed", || {
        let h = hits_of(&search(&supervisor, &format!("q={q}")), &chat);
        (!h.is_empty()).then_some(h)
    });
    assert_eq!(chat_hits[0]["kind"], "chat", "{chat_hits:?}");
    assert_eq!(chat_hits[0]["channel"], "chat");
    assert_eq!(chat_hits[0]["agent"], id1001.as_str(), "the agent who answered is on it");
    assert_eq!(chat_hits[0]["speaker"], "customer");
    assert!(chat_hits[0]["snippet_html"].as_str().is_some_and(|s| s.contains("<mark>投诉</mark>")), "{chat_hits:?}");
    assert!(hits_of(&search(&supervisor, &format!("q={q}&kind=email")), &chat).is_empty(), "kind filter");

    // The refund in the GBK email, decoded, under agent 1002 once answered; the reply too.
    let q = enc("退款");
    let email_hits = eventually(30, "the email indexed under agent 1002", || {
        let h = hits_of(&search(&supervisor, &format!("q={q}&agent={id1002}")), &email);
        (!h.is_empty()).then_some(h)
    });
    assert_eq!(email_hits[0]["kind"], "email", "{email_hits:?}");
    assert_eq!(email_hits[0]["channel"], "email");
    assert_eq!(email_hits[0]["speaker"], "customer");
    assert!(email_hits[0]["snippet_html"].as_str().is_some_and(|s| s.contains("<mark>退款</mark>")), "{email_hits:?}");
    assert!(search(&supervisor, &format!("q={q}&agent={id1001}")).is_empty(), "agent filter");
    let reply = eventually(30, "the agent's reply indexed", || {
        let h = hits_of(&search(&supervisor, &format!("q={}&kind=email", enc("补偿"))), &email);
        h.into_iter().next()
    });
    assert_eq!(reply["speaker"], "agent");

    // The time range: from the test's start it is there, from an hour on it is not.
    let later = now_ms() + 3_600_000;
    assert!(!hits_of(&search(&supervisor, &format!("q={q}&from={started_ms}&to={later}")), &email).is_empty());
    assert!(search(&supervisor, &format!("q={q}&from={later}")).is_empty(), "range filter");

    // Each agent sees only their own contacts.
    assert!(!hits_of(&search(&a1001, &format!("q={}", enc("投诉"))), &chat).is_empty(), "1001 sees the own chat");
    assert!(search(&a1001, &format!("q={q}")).is_empty(), "1001 does not see 1002's email");
    assert!(!hits_of(&search(&a1002, &format!("q={q}")), &email).is_empty(), "1002 sees the own email");
    assert!(search(&a1002, &format!("q={}", enc("投诉"))).is_empty(), "1002 does not see 1001's chat");
    assert!(search(&a1002, &format!("q={}&agent={id1001}", enc("投诉"))).is_empty(), "nor by asking for 1001's");
    server.stop();
}

/// A contact with two recordings (the first 60 days old, the second from today) and their
/// transcripts in the index as the transcriber numbers them: the n-th recording's segments
/// from n × `store::MAX_SEGMENTS_PER_RECORDING`. The first says "发票", the second "退款" at 4.5 s.
fn contact_with_two_transcribed_recordings(dir: &std::path::Path) -> (ContactId, Recording, Recording) {
    Server::start(dir, None).stop();
    let (rt, s) = store_at(dir);
    let org = demo::DEMO_ORG;
    let contact = ContactId::from_u128(0x5ea2_c000);
    let agent = demo_agent("1001");
    let old = now_ms() - 60 * DAY_MS;
    let mut c = Contact::arrived(
        contact,
        org,
        Channel::Voice,
        Direction::Inbound,
        "+8613800000009",
        "4000",
        Timestamp::from_unix_ms(old),
    );
    c.agent = Some(agent);
    c.ended_at = Some(Timestamp::from_unix_ms(now_ms()));
    rt.block_on(s.insert_contact(&c)).expect("contact");
    let recording = |n: u128, started: i64| Recording {
        id: RecordingId::from_u128(0x5ea2_0000 + n),
        org,
        contact,
        path: format!("2026/02/{n}.wav"),
        started_at: Timestamp::from_unix_ms(started),
        duration: DurationMs::from_secs(10),
        size_bytes: 12,
        sha256: String::new(),
        channels: 2,
        sample_rate_hz: 8_000,
        legal_hold: false,
        deleted_at: None,
    };
    let (first, second) = (recording(1, old), recording(2, now_ms() - 60_000));
    std::fs::create_dir_all(dir.join("state/recordings/2026/02")).expect("dirs");
    for r in [&first, &second] {
        std::fs::write(dir.join("state/recordings").join(&r.path), b"RIFF....WAVE").expect("file");
        rt.block_on(s.insert_recording(r)).expect("recording");
    }
    rt.block_on(s.close());
    let index = search::SearchIndex::open_or_create_in_dir(&dir.join("state/search"), search::IndexConfig::default())
        .expect("index");
    let per_recording = u32::try_from(store::MAX_SEGMENTS_PER_RECORDING).expect("u32");
    let segment = |rec: &Recording, base: u32, n: u32, offset_ms: u64, text: &str| search::SearchDocument {
        org,
        contact,
        kind: search::DocumentKind::TranscriptSegment,
        ordinal: base + n,
        agent: Some(agent),
        queue: None,
        customer: None,
        channel: Channel::Voice,
        at: rec.started_at.plus(DurationMs::from_ms(offset_ms)),
        disposition: None,
        csat: None,
        recording_offset_ms: Some(offset_ms),
        speaker: Some(search::Speaker::Customer),
        text: text.to_owned(),
    };
    let rules = search::KeywordRules::standard();
    for doc in [
        segment(&first, 0, 0, 500, "你好，我想开发票"),
        segment(&first, 0, 1, 3_000, "发票抬头是公司"),
        segment(&second, per_recording, 0, 1_000, "你好"),
        segment(&second, per_recording, 1, 4_500, "我要退款"),
    ] {
        index.index(&doc, &rules).expect("index");
    }
    index.commit().expect("commit");
    drop(index);
    (contact, first, second)
}

#[test]
fn a_transcript_hit_names_the_recording_it_was_said_in_and_the_offset() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (contact, first, second) = contact_with_two_transcribed_recordings(tmp.path());
    let server = Server::start(tmp.path(), None);
    let supervisor = Session::login(&server.base, "supervisor", "demosuper");
    let hits = hits_of(&search(&supervisor, &format!("q={}", enc("退款"))), &contact.to_string());
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["kind"], "transcript");
    assert_eq!(hits[0]["recording"], second.id.to_string().as_str(), "the second recording, not the first");
    assert_eq!(hits[0]["offset_ms"], 4_500);
    let hits = hits_of(&search(&supervisor, &format!("q={}", enc("发票"))), &contact.to_string());
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.iter().all(|h| h["recording"] == first.id.to_string().as_str()), "{hits:?}");
    server.stop();
}

#[test]
fn the_retention_sweep_removes_a_deleted_recordings_transcript_from_search() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (contact, first, second) = contact_with_two_transcribed_recordings(tmp.path());
    let config = "[recordings]\nretention_days = 30\nretention_sweep_interval = \"1s\"\n";
    let server = Server::start(tmp.path(), Some(config));
    let supervisor = Session::login(&server.base, "supervisor", "demosuper");
    let contact = contact.to_string();
    eventually(30, "the expired recording's transcript gone from search", || {
        hits_of(&search(&supervisor, &format!("q={}", enc("发票"))), &contact).is_empty().then_some(())
    });
    let (status, rec) = supervisor.call("GET", &format!("/api/recordings/{}", first.id), None);
    assert!(status == 404 || rec["deleted_at_ms"].is_i64(), "the first recording was deleted: {status} {rec}");
    let kept = hits_of(&search(&supervisor, &format!("q={}", enc("退款"))), &contact);
    assert_eq!(kept.len(), 1, "the other recording's transcript stays: {kept:?}");
    assert_eq!(kept[0]["recording"], second.id.to_string().as_str());
    server.stop();
}
