//! Email attachments through the real binary: `hotline demo` with `[email] smtp_listen` and small
//! attachment limits. A customer's multipart message sent over SMTP (lettre, raw bytes) carries a
//! PDF-like attachment, one named in GBK by RFC 2231 and one by an RFC 2047 encoded word, one over
//! `max_attachment_bytes` and one of a blocked type. The message is accepted and becomes an email
//! contact; its thread over HTTP (`GET /api/contacts/{id}/email/messages`) shows the HTML-only body
//! as text, the kept attachments with their decoded Chinese names and the refused ones with their
//! reasons; the kept ones download byte-identical for the contact's agent and staff, another agent
//! gets 404, and every download is in the audit log.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::server::{Server, free_port};
use lettre::address::Envelope;
use lettre::{SmtpTransport, Transport};
use serde_json::json;

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn start(dir: &Path, config_text: &str) -> Server {
    Server::start(dir, Some(config_text))
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    // 76-character lines (RFC 2045).
    out.as_bytes().chunks(76).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// One base64 attachment part; `disposition` is the raw Content-Disposition value.
fn part(content_type: &str, disposition: &str, data: &[u8]) -> String {
    format!(
        "--mixed\r\nContent-Type: {content_type}\r\nContent-Disposition: {disposition}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        base64(data)
    )
}

/// Bytes every value 0–255 appears in (CR, LF, NUL, high bytes), so a transfer that is not
/// byte-exact shows.
fn binary(header: &[u8], len: usize) -> Vec<u8> {
    let mut data = header.to_vec();
    data.extend((0..len).map(|i| ((i * 7 + 3) % 256) as u8));
    data.extend_from_slice(b"\n%%EOF\n");
    data
}

#[test]
fn attachments_over_smtp_are_kept_or_refused_with_reasons_and_download_byte_identical_to_their_agent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp_port = free_port();
    let server = start(
        dir.path(),
        &format!(
            "[email]\nsmtp_listen = \"127.0.0.1:{smtp_port}\"\ndomain = \"shop.test\"\n\
             support_address = \"support@shop.test\"\nmax_attachment_bytes = 65536\n"
        ),
    );
    let agent = server.login("1001", "demo1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let supervisor = server.login("supervisor", "demosuper");
    let admin = server.login("admin", "demoadmin");

    let invoice = binary(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 20_000);
    let fapiao = binary(b"%PDF-1.7\n", 3_000);
    let screenshot = binary(b"\x89PNG\r\n\x1a\n", 1_000);
    let big = binary(b"PK\x03\x04", 80_000);
    let mut raw = "From: =?UTF-8?B?5p2O5Zub?= <lisi@customer.test>\r\nTo: support@shop.test\r\n\
Subject: =?GBK?B?t6LGsQ==?=\r\nMessage-ID: <att-1@customer.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"mixed\"\r\n\r\n--mixed\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><p>您好，<b>发票</b>见附件。</p><script>alert(1)</script></body></html>\r\n"
        .to_owned();
    raw += &part("application/pdf", "attachment; filename=\"invoice.pdf\"", &invoice);
    raw += &part("application/pdf", "attachment; filename*=gbk''%B7%A2%C6%B1.pdf", &fapiao);
    raw += &part("image/png; name=\"=?GBK?B?tqm1pS5wbmc=?=\"", "attachment", &screenshot);
    raw += &part("application/zip", "attachment; filename=\"big.zip\"", &big);
    raw += &part("application/x-sh", "attachment; filename=\"run.sh\"", b"#!/bin/sh\necho hi\n");
    raw += "--mixed--\r\n";
    let mailer = SmtpTransport::builder_dangerous("127.0.0.1").port(smtp_port).build();
    let envelope = Envelope::new(
        Some("lisi@customer.test".parse().expect("from")),
        vec!["support@shop.test".parse().expect("to")],
    )
    .expect("envelope");
    mailer.send_raw(&envelope, raw.as_bytes()).expect("the message is accepted though two attachments are refused");

    let contact = wait_for("the email offered to agent 1001", || agent.my_contacts("1001").into_iter().next());
    agent.ok("POST", &format!("/api/contacts/{contact}/accept"), None);
    let thread_path = format!("/api/contacts/{contact}/email/messages");
    let thread = wait_for("the thread visible to its agent", || {
        let (status, v) = agent.call("GET", &thread_path, None);
        (status == 200).then_some(v)
    });
    let messages = thread["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "{thread}");
    let m = &messages[0];
    assert_eq!((m["direction"].as_str(), m["from"].as_str()), (Some("inbound"), Some("lisi@customer.test")), "{m}");
    assert_eq!(m["subject"], "发票");
    assert_eq!(m["message_id"], "att-1@customer.test");
    let text = m["text"].as_str().expect("text");
    assert!(text.contains("发票") && text.contains("见附件"), "{text}");
    assert!(!text.contains("<b>") && !text.contains("<p>") && !text.contains("<script"), "HTML was served: {text}");

    let attachments = m["attachments"].as_array().expect("attachments");
    let by_name = |name: &str| {
        attachments.iter().find(|a| a["filename"] == name).unwrap_or_else(|| panic!("no {name} in {attachments:?}"))
    };
    for (name, content_type, bytes) in [
        ("invoice.pdf", "application/pdf", &invoice),
        ("发票.pdf", "application/pdf", &fapiao),
        ("订单.png", "image/png", &screenshot),
    ] {
        let a = by_name(name);
        assert_eq!((a["status"].as_str(), a["content_type"].as_str()), (Some("stored"), Some(content_type)), "{a}");
        assert_eq!(a["size_bytes"], bytes.len(), "{a}");
        let download = a["download"].as_str().expect("download path");
        assert_eq!(&agent.bytes(download), bytes, "{name} downloaded by its agent is not byte-identical");
    }
    let refused_big = by_name("big.zip");
    assert_eq!(refused_big["status"], "refused");
    let reason = refused_big["refused_reason"].as_str().expect("reason");
    assert!(reason.contains("over the limit of 65536 bytes"), "{reason}");
    assert!(refused_big["download"].is_null());
    let refused_sh = by_name("run.sh");
    assert_eq!(
        (refused_sh["status"].as_str(), refused_sh["refused_reason"].as_str()),
        (Some("refused"), Some("type application/x-sh is blocked"))
    );

    // Staff may download; another agent learns nothing, not even that the contact exists.
    let invoice_path = by_name("invoice.pdf")["download"].as_str().expect("download").to_owned();
    assert_eq!(supervisor.bytes(&invoice_path), invoice);
    let other = server.login("1002", "demo1002");
    let (status, problem) = other.call("GET", &invoice_path, None);
    assert_eq!(status, 404, "another agent downloaded a contact's attachment: {problem}");
    let (status, _) = other.call("GET", &thread_path, None);
    assert_eq!(status, 404, "another agent read a contact's thread");
    let refused_id = refused_big["id"].as_str().expect("id");
    let (status, _) = supervisor.call("GET", &format!("/api/contacts/{contact}/email/attachments/{refused_id}"), None);
    assert_eq!(status, 404, "a refused attachment has no file to download");

    // Every download, allowed or not, is in the audit log.
    let audit = admin.ok("GET", "/api/audit?limit=500", None);
    let downloads: Vec<(String, i64)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "download_email_attachment" && e["path"] == invoice_path.as_str())
        .map(|e| (e["actor"].as_str().unwrap_or("").to_owned(), e["status"].as_i64().unwrap_or(0)))
        .collect();
    for (actor, status) in [("1001", 200), ("supervisor", 200), ("1002", 404)] {
        assert!(
            downloads.iter().any(|(a, s)| a.contains(actor) && *s == status),
            "{actor} {status} not audited: {downloads:?}"
        );
    }
}
