//! IMAP polling through the real binary: `hotline demo` with `[email.imap]` pointed at a private
//! dovecot (the `email` crate's harness, `dovecot-imapd`) and `after = "move:Accepted"`. A message
//! APPENDed to the mailbox becomes an email contact with a ticket, both visible over HTTP, and is
//! moved out of the inbox once accepted; a malformed message (refused) and one over
//! `email.imap.max_message_bytes` (never fetched) make no contact and stay unseen in the inbox.

mod common;

#[allow(clippy::unwrap_used, dead_code)]
#[path = "../../email/tests/support/dovecot.rs"]
mod dovecot;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::server::Server;
use common::session::Session;
use dovecot::Dovecot;
use serde_json::json;

const USER: &str = "support";
const PASSWORD: &str = "s3cret-imap";

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

/// A plain IMAP client for the test's own view of the mailbox (APPEND, EXAMINE, SEARCH).
struct Imap {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    tag: u32,
}

impl Imap {
    fn connect(port: u16) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to dovecot");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut greeting = String::new();
        reader.read_line(&mut greeting).expect("greeting");
        let mut imap = Imap { stream, reader, tag: 0 };
        imap.ok(&format!("LOGIN {USER} {PASSWORD}"));
        imap
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("t{}", self.tag)
    }

    /// Reads lines until the tagged answer; the untagged lines, or a panic on NO/BAD.
    fn finish(&mut self, tag: &str, what: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(self.reader.read_line(&mut line).expect("read") > 0, "dovecot closed during {what}");
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                assert!(rest.starts_with("OK"), "{what}: {line}");
                return lines;
            }
            lines.push(line.trim_end().to_owned());
        }
    }

    fn ok(&mut self, command: &str) -> Vec<String> {
        let tag = self.next_tag();
        self.stream.write_all(format!("{tag} {command}\r\n").as_bytes()).expect("write");
        self.finish(&tag, command)
    }

    fn append(&mut self, mailbox: &str, message: &[u8]) {
        let tag = self.next_tag();
        self.stream.write_all(format!("{tag} APPEND {mailbox} {{{}}}\r\n", message.len()).as_bytes()).expect("write");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("continuation");
        assert!(line.starts_with('+'), "APPEND: {line}");
        self.stream.write_all(message).expect("literal");
        self.stream.write_all(b"\r\n").expect("crlf");
        self.finish(&tag, "APPEND");
    }

    /// (messages in `mailbox`, unseen ones), read-only.
    fn counts(&mut self, mailbox: &str) -> (usize, usize) {
        let lines = self.ok(&format!("EXAMINE {mailbox}"));
        let exists = lines
            .iter()
            .find_map(|l| l.strip_prefix("* ").and_then(|l| l.strip_suffix(" EXISTS")).and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let unseen = self
            .ok("SEARCH UNSEEN")
            .iter()
            .find_map(|l| l.strip_prefix("* SEARCH").map(|ids| ids.split_whitespace().count()))
            .unwrap_or(0);
        (exists, unseen)
    }
}

/// `hotline demo` polling the dovecot on `imap_port`.
fn start(dir: &Path, imap_port: u16) -> Server {
    Server::start(
        dir,
        Some(&format!(
            "[email]\ndomain = \"shop.test\"\nsupport_address = \"support@shop.test\"\n\n[email.imap]\n\
             host = \"127.0.0.1\"\nport = {imap_port}\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n\
             mailbox = \"INBOX\"\npoll_interval_ms = 200\nmax_message_bytes = 4096\nafter = \"move:Accepted\"\n\
             command_timeout_ms = 5000\nmax_backoff_ms = 1000\n"
        )),
    )
}

#[test]
fn a_message_appended_to_the_mailbox_becomes_a_contact_and_ticket_and_is_moved_only_once_accepted() {
    let dovecot = Dovecot::start(USER, PASSWORD);
    let mut imap = Imap::connect(dovecot.port);
    imap.ok("CREATE Accepted");
    // Refused and too-large messages first: by the time the good one is moved, the poller has
    // answered them (UIDs are handled in order).
    imap.append("INBOX", b"To: support@shop.test\r\nSubject: no sender\r\n\r\nwho am I?\r\n");
    let big = format!(
        "From: bulk@customer.test\r\nTo: support@shop.test\r\nSubject: too big\r\nMessage-ID: <big-1@customer.test>\r\n\r\n{}\r\n",
        "x".repeat(8_000)
    );
    imap.append("INBOX", big.as_bytes());
    assert_eq!(imap.counts("INBOX"), (2, 2));

    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), dovecot.port);
    let agent = Session::login(&server.base, "1001", "demo1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let supervisor = Session::login(&server.base, "supervisor", "demosuper");

    let good = "From: =?UTF-8?B?546L5bCP5piO?= <xiaoming@customer.test>\r\nTo: support@shop.test\r\n\
Subject: =?UTF-8?B?6K6i5Y2V6L+Y5rKh5Yiw?=\r\nMessage-ID: <imap-1@customer.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n您好，我的订单还没到。\r\n";
    imap.append("INBOX", good.as_bytes());

    let contact = wait_for("the polled email offered to agent 1001", || agent.my_contacts("1001").into_iter().next());
    agent.ok("POST", &format!("/api/contacts/{contact}/accept"), None);
    let stored = wait_for("the contact stored", || {
        let (status, v) = supervisor.call("GET", &format!("/api/contacts/{contact}"), None);
        (status == 200).then_some(v)
    });
    assert_eq!((stored["channel"].as_str(), stored["from"].as_str()), (Some("email"), Some("xiaoming@customer.test")));
    let customer = stored["customer_id"].as_str().expect("the customer was created by address").to_owned();
    let tickets = supervisor.ok("GET", &format!("/api/tickets?customer={customer}"), None);
    let ticket = &tickets["items"][0];
    assert_eq!(ticket["subject"], "订单还没到", "{tickets}");
    assert_eq!(ticket["contact_ids"], json!([contact]), "{tickets}");
    let thread = agent.ok("GET", &format!("/api/contacts/{contact}/email/messages"), None);
    assert_eq!(thread["messages"][0]["message_id"], "imap-1@customer.test", "{thread}");
    assert!(thread["messages"][0]["text"].as_str().is_some_and(|t| t.contains("我的订单还没到")), "{thread}");

    // Accepted, so moved out of the inbox; the refused and the too-large stay there, unseen.
    wait_for("the accepted message moved to Accepted", || (imap.counts("Accepted").0 == 1).then_some(()));
    assert_eq!(imap.counts("INBOX"), (2, 2), "a message that was not accepted was marked or moved");
    let live = supervisor.ok("GET", "/api/live", None);
    assert_eq!(live["live_contacts"], 1, "the refused and too-large messages made contacts: {live}");
}
