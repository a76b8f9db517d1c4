//! The email channel through the real binary: `hotline demo` with `[email] smtp_listen` and a
//! smarthost. A customer's email sent with lettre to the listener becomes a `Channel::Email`
//! contact offered to the available agent, who accepts it and answers over HTTP; the reply (and the
//! auto-acknowledgement) reach the smarthost, a tiny SMTP sink written here, with In-Reply-To the
//! customer's Message-ID. A GBK-encoded message arrives with its Chinese subject decoded, and a
//! redelivered Message-ID is accepted without a second contact. The WeChat callback
//! (`[social] wechat_token`) turns a signed text message into a `wechat` contact offered to the
//! agent and refuses a forged signature with 403.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::server::{Server, free_port};
use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport};
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

/// A minimal SMTP server (the smarthost): every message's DATA goes to the channel.
fn smtp_sink() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind sink");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let _ = stream.write_all(b"220 sink ESMTP\r\n");
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            let _ = stream.write_all(b"354 go ahead\r\n");
                            let mut data = String::new();
                            loop {
                                let mut l = String::new();
                                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                                    break;
                                }
                                data.push_str(&l);
                            }
                            let _ = tx.send(data);
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
    (port, rx)
}

/// `hotline demo` with the email channel: the SMTP listener on `smtp`, replies through the sink
/// on `smarthost`, auto-acknowledgement on, and `extra_config` appended.
fn start_with(dir: &Path, smtp: u16, smarthost: u16, extra_config: &str) -> Server {
    Server::start(
        dir,
        Some(&format!(
            "[email]\nsmtp_listen = \"127.0.0.1:{smtp}\"\ndomain = \"shop.test\"\nsupport_address = \
             \"support@shop.test\"\nsmarthost = \"127.0.0.1:{smarthost}\"\nauto_acknowledge = true\n\
             {extra_config}"
        )),
    )
}

fn start(dir: &Path, smtp: u16, smarthost: u16) -> Server {
    start_with(dir, smtp, smarthost, "")
}

/// A header's value (first occurrence, unfolded) in raw message text.
fn header(raw: &str, name: &str) -> Option<String> {
    let mut lines = raw.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            return None;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            let mut value = v.trim().to_owned();
            while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                value.push(' ');
                value.push_str(next.trim());
                lines.next();
            }
            return Some(value);
        }
    }
    None
}

fn next_mail(rx: &mpsc::Receiver<String>, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(m) if pred(&m) => return m,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    panic!("the smarthost never received {what}");
}

#[test]
fn customer_email_is_routed_to_an_agent_whose_reply_is_threaded_and_gbk_mail_is_decoded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sink_port, sink) = smtp_sink();
    let smtp_port = free_port();
    let server = start(dir.path(), smtp_port, sink_port);
    let agent = server.login("1001", "demo1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let supervisor = server.login("supervisor", "demosuper");

    // The customer writes (lettre, plain SMTP to the listener).
    let mailer = SmtpTransport::builder_dangerous("127.0.0.1").port(smtp_port).build();
    let original_id = "order-42-question@customer.test";
    let mail = Message::builder()
        .from("Li Lei <lilei@customer.test>".parse().expect("from"))
        .to("support@shop.test".parse().expect("to"))
        .subject("Where is my order 42?")
        .message_id(Some(format!("<{original_id}>")))
        .header(ContentType::TEXT_PLAIN)
        .body("Hello, my order 42 has not arrived.".to_owned())
        .expect("message");
    mailer.send(&mail).expect("the listener accepts the email");

    // It is offered to the available agent, who accepts it.
    let contact = wait_for("the email offered to agent 1001", || agent.my_contacts("1001").into_iter().next());
    agent.ok("POST", &format!("/api/contacts/{contact}/accept"), None);
    let stored = wait_for("the contact stored", || {
        let (status, v) = supervisor.call("GET", &format!("/api/contacts/{contact}"), None);
        (status == 200).then_some(v)
    });
    assert_eq!(stored["channel"], "email", "{stored}");
    assert_eq!(stored["from"], "lilei@customer.test", "{stored}");
    assert!(stored["customer_id"].is_string(), "the customer was found or created by address: {stored}");

    // The auto-acknowledgement carries the ticket number and is marked automatic.
    let ack = next_mail(&sink, "the acknowledgement", |m| header(m, "Auto-Submitted").is_some());
    assert_eq!(header(&ack, "In-Reply-To").as_deref(), Some(format!("<{original_id}>").as_str()));
    assert!(header(&ack, "Subject").is_some_and(|s| s.contains("[#")), "{ack}");

    // A redelivery of the same Message-ID is accepted without a second contact.
    mailer.send(&mail).expect("the redelivery is accepted");

    // The agent answers over HTTP; the smarthost gets a threaded reply.
    let reply = agent.ok(
        "POST",
        &format!("/api/contacts/{contact}/email/reply"),
        Some(json!({"body": "Your order ships today."})),
    );
    let reply_id = reply["message_id"].as_str().expect("message_id").to_owned();
    let sent =
        next_mail(&sink, "the agent's reply", |m| header(m, "Message-ID").is_some_and(|id| id.contains(&reply_id)));
    assert_eq!(header(&sent, "In-Reply-To").as_deref(), Some(format!("<{original_id}>").as_str()));
    assert!(header(&sent, "References").is_some_and(|r| r.contains(original_id)), "{sent}");
    assert_eq!(header(&sent, "Subject").as_deref(), Some("Re: Where is my order 42?"));
    assert_eq!(header(&sent, "To").as_deref(), Some("lilei@customer.test"));
    assert!(sent.contains("Your order ships today."), "{sent}");
    assert_eq!(agent.my_contacts("1001"), vec![contact.clone()], "the redelivery made no second contact");

    // The agent ends the contact; the customer's answer to the reply opens a new contact on the
    // same ticket (and gets no second acknowledgement).
    agent.ok("POST", &format!("/api/contacts/{contact}/end"), None);
    wait_for("the contact ended in the store", || {
        let (_, v) = supervisor.call("GET", &format!("/api/contacts/{contact}"), None);
        v["ended_at_ms"].is_i64().then_some(())
    });
    let follow_up = Message::builder()
        .from("Li Lei <lilei@customer.test>".parse().expect("from"))
        .to("support@shop.test".parse().expect("to"))
        .subject("Re: Where is my order 42?")
        .message_id(Some("<order-42-thanks@customer.test>".to_owned()))
        .in_reply_to(format!("<{reply_id}>"))
        .header(ContentType::TEXT_PLAIN)
        .body("Thanks! One more question.".to_owned())
        .expect("message");
    mailer.send(&follow_up).expect("the follow-up is accepted");
    let customer = stored["customer_id"].as_str().expect("customer").to_owned();
    let tickets = wait_for("the follow-up's contact on the same ticket", || {
        let v = supervisor.ok("GET", &format!("/api/tickets?customer={customer}"), None);
        let items = v["items"].as_array().cloned().unwrap_or_default();
        items.first().filter(|t| t["contact_ids"].as_array().is_some_and(|c| c.len() == 2)).map(|_| items.clone())
    });
    assert_eq!(tickets.len(), 1, "one ticket for the thread: {tickets:?}");
    assert_eq!(tickets[0]["contact_ids"][0], contact.as_str());

    // A stranger may not answer someone else's email.
    let other = server.login("1002", "demo1002");
    let (status, _) = other.call("POST", &format!("/api/contacts/{contact}/email/reply"), Some(json!({"body": "hi"})));
    assert_eq!(status, 404);

    // A GBK-encoded message (a Chinese mail client) arrives with its subject decoded.
    let mut gbk = b"From: =?GBK?B?zfXQocP3?= <xiaoming@customer.test>\r\nTo: support@shop.test\r\n\
Subject: =?GBK?B?tqm1pbu5w7vK1bW9?=\r\nMessage-ID: <gbk-1@customer.test>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    gbk.extend_from_slice(&[0xc4, 0xfa, 0xba, 0xc3, 0x0d, 0x0a]);
    let envelope = Envelope::new(
        Some("xiaoming@customer.test".parse().expect("from")),
        vec!["support@shop.test".parse().expect("to")],
    )
    .expect("envelope");
    mailer.send_raw(&envelope, &gbk).expect("the GBK message is accepted");
    let ack = next_mail(&sink, "the GBK message's acknowledgement", |m| {
        header(m, "In-Reply-To").is_some_and(|id| id.contains("gbk-1@customer.test"))
    });
    // The acknowledgement quotes the decoded subject ("订单还没收到") in its (zh-CN) body.
    let body = ack.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    let decoded = decode_body(&ack, &body);
    assert!(decoded.contains("订单还没收到"), "{decoded}");
    assert!(decoded.contains("工单号"), "{decoded}");
}

/// The text of a single-part message body (quoted-printable or base64 as lettre writes it).
fn decode_body(raw: &str, body: &str) -> String {
    let encoding = header(raw, "Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => base64_decode(&body.replace("\r\n", "")),
        "quoted-printable" => qp_decode(body),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = s.bytes().filter_map(val).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

fn qp_decode(s: &str) -> Vec<u8> {
    let s = s.replace("=\r\n", "");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && let Some(Ok(v)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[test]
fn signed_wechat_text_becomes_a_contact_for_an_agent_and_a_forged_signature_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sink_port, _sink) = smtp_sink();
    let token = "hotlineWeChat42";
    let server = start_with(dir.path(), free_port(), sink_port, &format!("[social]\nwechat_token = \"{token}\"\n"));
    let agent = server.login("1001", "demo1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let supervisor = server.login("supervisor", "demosuper");
    let http = reqwest::blocking::Client::new();
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let (timestamp, nonce) = (now_s.to_string(), "n0nce");
    let signature = social::wechat::signature(token, &timestamp, nonce);
    let url =
        |sig: &str| format!("{}/wechat/callback?signature={sig}&timestamp={timestamp}&nonce={nonce}", server.base);

    // The server-URL handshake echoes echostr.
    let r = http.get(format!("{}&echostr=e42", url(&signature))).send().expect("handshake");
    assert_eq!((r.status().as_u16(), r.text().expect("text")), (200, "e42".to_owned()));

    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[oCustomer42]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[我的订单还没到]]></Content><MsgId>1234567890123456</MsgId></xml>"
    );
    // A forged signature is refused and makes no contact.
    let forged = http.post(url(&"0".repeat(40))).body(xml.clone()).send().expect("forged");
    assert_eq!(forged.status().as_u16(), 403);

    let r = http.post(url(&signature)).body(xml.clone()).send().expect("callback");
    assert_eq!((r.status().as_u16(), r.text().expect("text")), (200, "success".to_owned()));
    // WeChat's retry of the same message makes no second contact.
    let r = http.post(url(&signature)).body(xml).send().expect("retry");
    assert_eq!(r.status().as_u16(), 200);

    let contact = wait_for("the WeChat message offered to agent 1001", || agent.my_contacts("1001").into_iter().next());
    agent.ok("POST", &format!("/api/contacts/{contact}/accept"), None);
    let stored = wait_for("the contact stored", || {
        let (status, v) = supervisor.call("GET", &format!("/api/contacts/{contact}"), None);
        (status == 200).then_some(v)
    });
    assert_eq!(stored["channel"], "wechat", "{stored}");
    assert_eq!(stored["from"], "oCustomer42", "{stored}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(agent.my_contacts("1001"), vec![contact], "one message, one contact");
    let live = supervisor.ok("GET", "/api/live", None);
    assert_eq!(live["live_contacts"], 1, "the forged and the retried messages made no contact: {live}");
}

/// The desktop's email pane in Chromium (`crates/web/browser/email_desktop.mjs`): a customer's
/// email rings agent 1001's desktop, is accepted, its thread shows (when the server serves
/// `GET /api/contacts/{id}/email/messages`), the reply typed in the pane reaches the smarthost
/// threaded to the customer's message, and the contact is wrapped up.
#[test]
fn the_desktop_shows_an_email_thread_and_its_typed_reply_reaches_the_smarthost_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sink_port, sink) = smtp_sink();
    let smtp_port = free_port();
    let server = start(dir.path(), smtp_port, sink_port);
    let supervisor = server.login("supervisor", "demosuper");
    let original_id = "order-42-browser@customer.test";
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("desktop-email-screenshots");
    let transcript = common::browser::scenario("email_desktop.mjs", &server.base, &shots, || {
        let mail = Message::builder()
            .from("Li Lei <lilei@customer.test>".parse().expect("from"))
            .to("support@shop.test".parse().expect("to"))
            .subject("Where is my order 42?")
            .message_id(Some(format!("<{original_id}>")))
            .header(ContentType::TEXT_PLAIN)
            .body("Hello, my order 42 has not arrived.".to_owned())
            .expect("message");
        let mailer = SmtpTransport::builder_dangerous("127.0.0.1").port(smtp_port).build();
        mailer.send(&mail).expect("the listener accepts the email");
    });
    common::browser::assert_screenshots(&shots, &["desktop-email-thread", "desktop-email-replied"]);
    let contact = common::browser::reported(&transcript, "email");

    // The reply typed in the pane went out threaded to the customer's message.
    let sent = next_mail(&sink, "the reply typed on the desktop", |m| {
        header(m, "Auto-Submitted").is_none() && header(m, "In-Reply-To").is_some_and(|r| r.contains(original_id))
    });
    assert_eq!(header(&sent, "To").as_deref(), Some("lilei@customer.test"));
    assert_eq!(header(&sent, "Subject").as_deref(), Some("Re: Where is my order 42?"));
    let body = sent.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    assert!(decode_body(&sent, &body).contains("订单 42 今天发货"), "{sent}");

    // Where the server serves the thread, the pane showed it (not the fallback note).
    let (status, thread) = supervisor.call("GET", &format!("/api/contacts/{contact}/email/messages"), None);
    if status == 200 {
        assert_eq!(common::browser::reported(&transcript, "thread"), "listed", "{thread}");
    }
    let c = wait_for("the wrap-up stored", || {
        let c = supervisor.ok("GET", &format!("/api/contacts/{contact}"), None);
        c["disposition"].is_string().then_some(c)
    });
    assert_eq!((c["channel"].as_str(), c["disposition"].as_str()), (Some("email"), Some("resolved")), "{c}");
}
