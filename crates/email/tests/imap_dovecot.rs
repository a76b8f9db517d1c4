//! IMAP polling against a real dovecot on 127.0.0.1 (Debian `dovecot-imapd`, a private instance per
//! test): messages APPENDed to the mailbox reach the application through the same `Delivery` the SMTP
//! listener hands over, go through `intake::receive`, thread, and are marked only once accepted.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use email::imap::{AfterAccept, ImapConfig, ImapPoller, ImapStats, Password, PollLimits};
use email::intake;
use email::listener::Delivery;
use email::mime::MimeLimits;
use email::rate::SenderWindowLimits;
use email::smtp::Verdict;
use email::thread::ThreadLookup;
use futures_util::TryStreamExt;
use model::Timestamp;
use support::dovecot::Dovecot;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

const USER: &str = "support";
const PASSWORD: &str = "s3cret-imap";
const ORDER_BODY: &str = "您好，我的订单还没有发货，请帮忙查询。谢谢！";

fn config(port: u16, password: &str, mailbox: &str, after: AfterAccept) -> ImapConfig {
    ImapConfig {
        host: "127.0.0.1".into(),
        port,
        tls: false,
        username: USER.into(),
        password: Password(password.into()),
        mailbox: mailbox.into(),
        poll_interval_ms: 100,
        after,
        limits: PollLimits {
            max_message_bytes: 64 * 1024,
            max_messages_per_poll: 50,
            max_skipped_uids: 1000,
            flood: SenderWindowLimits { max_events_per_window: 100, window_ms: 60_000, max_tracked_senders: 100 },
        },
        command_timeout_ms: 5_000,
        verdict_timeout_ms: 10_000,
        min_backoff_ms: 50,
        max_backoff_ms: 400,
    }
}

/// A stored email as the application keeps it.
#[derive(Debug, Clone)]
struct Stored {
    conversation: usize,
    subject: String,
    text: String,
    attachments: Vec<String>,
}

/// The application: intake::receive against an in-memory conversation store; optionally holds
/// each verdict until the test releases it.
#[derive(Default)]
struct Desk {
    by_message_id: HashMap<String, usize>,
    stored: Vec<Stored>,
    conversations: usize,
    duplicates: usize,
}

impl ThreadLookup for Desk {
    type Conversation = usize;
    fn conversation_by_message_id(&self, id: &str) -> Option<usize> {
        self.by_message_id.get(id).copied()
    }
    fn conversation_by_ticket_number(&self, _: i64) -> Option<usize> {
        None
    }
}

impl Desk {
    fn take(&mut self, delivery: &Delivery) -> Verdict {
        let received = match intake::receive(&delivery.message, &MimeLimits::default(), self) {
            Ok(received) => received,
            Err(verdict) => return verdict,
        };
        if received.duplicate_of.is_some() {
            self.duplicates += 1;
            return Verdict::Accepted { queue_id: "duplicate".into() };
        }
        let conversation = match received.thread.conversation() {
            Some(c) => *c,
            None => {
                self.conversations += 1;
                self.conversations
            }
        };
        let email = received.email;
        if let Some(id) = &email.message_id {
            self.by_message_id.insert(id.clone(), conversation);
        }
        self.stored.push(Stored {
            conversation,
            subject: email.subject.clone(),
            text: email.text_body.clone().unwrap_or_default(),
            attachments: email.attachments.iter().filter_map(|a| a.filename.clone()).collect(),
        });
        Verdict::Accepted { queue_id: format!("q{}", self.stored.len()) }
    }
}

type Held = mpsc::UnboundedReceiver<(String, oneshot::Sender<()>)>;

/// Runs the desk on the deliveries; with `hold`, each delivery waits for the test's release.
fn run_desk(mut deliveries: mpsc::Receiver<Delivery>, hold: bool) -> (Arc<Mutex<Desk>>, Held) {
    let desk = Arc::new(Mutex::new(Desk::default()));
    let (held_tx, held_rx) = mpsc::unbounded_channel();
    let shared = desk.clone();
    tokio::spawn(async move {
        while let Some(delivery) = deliveries.recv().await {
            if hold {
                let (release, released) = oneshot::channel();
                let subject = String::from_utf8_lossy(&delivery.message.data).into_owned();
                held_tx.send((subject, release)).unwrap();
                released.await.unwrap();
            }
            let verdict = shared.lock().unwrap().take(&delivery);
            let _ = delivery.verdict.send(verdict);
        }
    });
    (desk, held_rx)
}

fn clock() -> email::listener::Clock {
    Arc::new(|| Timestamp::from_unix_ms(0))
}

fn get(counter: &AtomicU64) -> u64 {
    ImapStats::get(counter)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Our own IMAP client, to deliver and to look at flags.
struct Mailroom {
    session: async_imap::Session<TcpStream>,
}

impl Mailroom {
    async fn open(port: u16) -> Mailroom {
        let mut client = async_imap::Client::new(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        client.read_response().await.unwrap().unwrap();
        let session = client.login(USER, PASSWORD).await.map_err(|(e, _)| e).unwrap();
        Mailroom { session }
    }

    async fn append(&mut self, mailbox: &str, raw: &[u8]) {
        self.session.append(mailbox, None, None, crlf(raw)).await.unwrap();
    }

    /// UIDs and whether each is \Seen, in `mailbox`.
    async fn seen(&mut self, mailbox: &str) -> Vec<(u32, bool)> {
        let selected = self.session.select(mailbox).await.unwrap();
        if selected.exists == 0 {
            return Vec::new();
        }
        let fetches: Vec<_> = self.session.uid_fetch("1:*", "(UID FLAGS)").await.unwrap().try_collect().await.unwrap();
        let mut flags: Vec<(u32, bool)> = fetches
            .iter()
            .map(|f| (f.uid.unwrap(), f.flags().any(|flag| flag == async_imap::types::Flag::Seen)))
            .collect();
        flags.sort_unstable();
        flags
    }
}

fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    for (i, b) in raw.iter().enumerate() {
        if *b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn plain(message_id: &str, subject: &str, in_reply_to: Option<&str>, body: &str) -> Vec<u8> {
    let reply = in_reply_to.map(|id| format!("In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n")).unwrap_or_default();
    format!(
        "Return-Path: <ann@example.com>\r\nFrom: Ann <ann@example.com>\r\nTo: support@hotline.test\r\n\
         Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n{reply}\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_mail_is_accepted_once_threaded_and_marked_seen_only_after_acceptance() {
    let dovecot = Dovecot::start(USER, PASSWORD);
    let mut room = Mailroom::open(dovecot.port).await;
    room.append("INBOX", &plain("first@example.com", "Where is my parcel?", None, "Order 1042 did not arrive.")).await;
    room.append("INBOX", &fixture("gbk_body.eml")).await;
    room.append("INBOX", &fixture("multipart_attachment.eml")).await;
    room.append(
        "INBOX",
        &plain("second@example.com", "Re: Where is my parcel?", Some("first@example.com"), "Any news?"),
    )
    .await;

    let (tx, rx) = mpsc::channel(4);
    let (desk, mut held) = run_desk(rx, true);
    let poller = ImapPoller::start(config(dovecot.port, PASSWORD, "INBOX", AfterAccept::MarkSeen), tx, clock());

    // The first message waits for its verdict: nothing on the server is marked yet.
    let (first, release) = held.recv().await.unwrap();
    assert!(first.contains("first@example.com"), "oldest first: {first}");
    assert_eq!(room.seen("INBOX").await.iter().filter(|(_, seen)| *seen).count(), 0);
    release.send(()).unwrap();
    for _ in 0..3 {
        let (_, release) = held.recv().await.unwrap();
        release.send(()).unwrap();
    }
    wait_for("four accepted", || get(&poller.stats().messages_accepted) == 4).await;
    let completed = get(&poller.stats().polls_completed);
    wait_for("two more polls", || get(&poller.stats().polls_completed) >= completed + 2).await;

    assert_eq!(room.seen("INBOX").await, vec![(1, true), (2, true), (3, true), (4, true)]);
    assert_eq!(get(&poller.stats().messages_fetched), 4, "a later poll fetches nothing again");
    assert!(held.try_recv().is_err(), "no message delivered twice");
    {
        let desk = desk.lock().unwrap();
        assert_eq!(desk.stored.len(), 4);
        let by_subject = |s: &str| desk.stored.iter().find(|m| m.subject == s).unwrap().clone();
        let reply = by_subject("Re: Where is my parcel?");
        assert_eq!(reply.conversation, by_subject("Where is my parcel?").conversation, "the reply joins its thread");
        assert!(by_subject("order").text.contains(ORDER_BODY), "GBK body decoded");
        assert_eq!(by_subject("Invoice question").attachments, vec!["invoice.pdf"]);
        assert_eq!(desk.conversations, 3);
    }
    poller.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_message_is_left_unseen_on_the_server_and_counted_once() {
    let dovecot = Dovecot::start(USER, PASSWORD);
    let mut room = Mailroom::open(dovecot.port).await;
    let big = plain("big@example.com", "Big", None, &"x".repeat(200 * 1024));
    room.append("INBOX", &big).await;
    room.append("INBOX", &plain("small@example.com", "Small", None, "hello")).await;

    let (tx, rx) = mpsc::channel(4);
    let (desk, _held) = run_desk(rx, false);
    let poller = ImapPoller::start(config(dovecot.port, PASSWORD, "INBOX", AfterAccept::MarkSeen), tx, clock());
    wait_for("the small one accepted", || get(&poller.stats().messages_accepted) == 1).await;
    let completed = get(&poller.stats().polls_completed);
    wait_for("two more polls", || get(&poller.stats().polls_completed) >= completed + 2).await;

    assert_eq!(get(&poller.stats().messages_oversized), 1);
    assert_eq!(get(&poller.stats().messages_fetched), 1);
    assert_eq!(room.seen("INBOX").await, vec![(1, false), (2, true)]);
    assert_eq!(desk.lock().unwrap().stored.len(), 1);
    poller.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_mail_is_expunged_when_after_is_delete_and_a_refused_one_stays() {
    let dovecot = Dovecot::start(USER, PASSWORD);
    let mut room = Mailroom::open(dovecot.port).await;
    room.append("INBOX", b"Subject: no sender at all\r\n\r\nmalformed\r\n").await;
    room.append("INBOX", &plain("keep@example.com", "Keep", None, "hello")).await;

    let (tx, rx) = mpsc::channel(4);
    let (desk, _held) = run_desk(rx, false);
    let poller = ImapPoller::start(config(dovecot.port, PASSWORD, "INBOX", AfterAccept::Delete), tx, clock());
    wait_for("one accepted", || get(&poller.stats().messages_accepted) == 1).await;
    let completed = get(&poller.stats().polls_completed);
    wait_for("two more polls", || get(&poller.stats().polls_completed) >= completed + 2).await;

    assert_eq!(get(&poller.stats().messages_rejected), 1, "refused once, not fetched again");
    assert_eq!(get(&poller.stats().messages_fetched), 2);
    assert_eq!(
        room.seen("INBOX").await,
        vec![(1, false)],
        "the refused message stays, unseen; the accepted one is gone"
    );
    assert_eq!(desk.lock().unwrap().stored.len(), 1);
    poller.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_a_clear_error_retried_with_backoff_not_a_panic() {
    let dovecot = Dovecot::start(USER, PASSWORD);
    let mut room = Mailroom::open(dovecot.port).await;
    room.append("INBOX", &plain("m@example.com", "Hello", None, "hi")).await;

    let (tx, rx) = mpsc::channel(4);
    let (desk, _held) = run_desk(rx, false);
    // dovecot delays a refused login (auth_failure_delay, then a growing penalty): wait it out.
    let config =
        ImapConfig { command_timeout_ms: 30_000, ..config(dovecot.port, "wrong", "INBOX", AfterAccept::MarkSeen) };
    let poller = ImapPoller::start(config, tx, clock());
    wait_for("two failed polls", || get(&poller.stats().polls_failed) >= 2).await;

    let error = poller.stats().last_error().unwrap();
    assert!(error.starts_with("imap: login as support refused"), "{error}");
    assert!(!error.contains("wrong"), "the password never shows: {error}");
    assert_eq!(get(&poller.stats().polls_completed), 0);
    assert!(desk.lock().unwrap().stored.is_empty());
    assert_eq!(room.seen("INBOX").await, vec![(1, false)]);
    poller.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_retried_and_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (tx, _rx) = mpsc::channel(4);
    let poller = ImapPoller::start(config(port, PASSWORD, "INBOX", AfterAccept::MarkSeen), tx, clock());
    wait_for("two failed polls", || get(&poller.stats().polls_failed) >= 2).await;
    let error = poller.stats().last_error().unwrap();
    assert!(error.starts_with(&format!("imap 127.0.0.1:{port}: cannot connect")), "{error}");
    poller.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_mail_is_moved_and_a_uidvalidity_change_rescans_without_duplicates() {
    let dovecot = Dovecot::start(USER, PASSWORD);
    let mut room = Mailroom::open(dovecot.port).await;
    room.session.create("Support").await.unwrap();
    room.session.create("Done").await.unwrap();
    let first = plain("one@example.com", "One", None, "first");
    room.append("Support", &first).await;

    let (tx, rx) = mpsc::channel(4);
    let (desk, _held) = run_desk(rx, false);
    let after = AfterAccept::parse("move:Done").unwrap();
    let poller = ImapPoller::start(config(dovecot.port, PASSWORD, "Support", after), tx, clock());
    wait_for("one accepted", || get(&poller.stats().messages_accepted) == 1).await;
    assert_eq!(room.seen("Support").await, vec![]);
    assert_eq!(room.seen("Done").await.len(), 1);

    // The folder is recreated (new UIDVALIDITY) and the old message shows up again beside a new one.
    room.session.delete("Support").await.unwrap();
    room.session.create("Support").await.unwrap();
    room.append("Support", &first).await;
    room.append("Support", &plain("two@example.com", "Two", None, "second")).await;
    wait_for("two more accepted", || get(&poller.stats().messages_accepted) == 3).await;

    assert_eq!(get(&poller.stats().uid_validity_changes), 1);
    {
        let desk = desk.lock().unwrap();
        assert_eq!(desk.stored.iter().map(|m| m.subject.as_str()).collect::<Vec<_>>(), vec!["One", "Two"]);
        assert_eq!(desk.duplicates, 1, "the redelivered message was recognised by its Message-ID");
    }
    assert_eq!(room.seen("Done").await.len(), 3);
    poller.shutdown().await;
}
