//! Real SMTP over loopback: `lettre` sends to our listener, the message is parsed and threaded, an
//! agent reply goes out through [`SmtpSender`] to a second listener acting as the relay sink.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use email::Mailbox;
use email::listener::{Delivery, ListenerConfig, SmtpListener};
use email::mime::{self, MimeLimits};
use email::rate::SenderWindowLimits;
use email::sender::{RelayConfig, SmtpSender};
use email::smtp::{SmtpConfig, SmtpLimits, Verdict};
use email::thread::{self, RandomMessageIds};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use model::Timestamp;
use tokio::sync::mpsc;

fn listener_config(domain: &str, max_messages_per_sender: u32) -> ListenerConfig {
    ListenerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        smtp: SmtpConfig {
            hostname: format!("mx.{domain}"),
            accepted_domains: vec![domain.into()],
            limits: SmtpLimits { max_message_bytes: 1024 * 1024, ..SmtpLimits::default() },
        },
        max_connections: 8,
        idle_timeout_ms: 5_000,
        verdict_timeout_ms: 5_000,
        flood: SenderWindowLimits {
            max_events_per_window: max_messages_per_sender,
            window_ms: 60_000,
            max_tracked_senders: 100,
        },
    }
}

async fn start(domain: &str, max_per_sender: u32) -> (SmtpListener, mpsc::Receiver<Delivery>, Arc<AtomicI64>) {
    let (tx, rx) = mpsc::channel(16);
    let now = Arc::new(AtomicI64::new(0));
    let clock_now = now.clone();
    let clock = Arc::new(move || Timestamp::from_unix_ms(clock_now.load(Ordering::SeqCst)));
    let listener = SmtpListener::start(listener_config(domain, max_per_sender), tx, clock).await.unwrap();
    (listener, rx, now)
}

fn client(port: u16) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(5)))
        .build()
}

fn customer_mail(subject: &str) -> Message {
    Message::builder()
        .from("张三 <zhangsan@example.cn>".parse().unwrap())
        .to("support@hotline.test".parse().unwrap())
        .subject(subject)
        .message_id(Some("<cust-1@example.cn>".into()))
        .body("我的订单还没有发货。".to_owned())
        .unwrap()
}

async fn accept_next(rx: &mut mpsc::Receiver<Delivery>) -> Delivery {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap()
}

#[tokio::test]
async fn mail_sent_with_lettre_arrives_parsed_and_the_reply_reaches_the_sink_threaded() {
    let (inbound, mut inbound_rx, _) = start("hotline.test", 10).await;
    let (sink, mut sink_rx, _) = start("example.cn", 10).await;

    let send = {
        let c = client(inbound.local_addr().port());
        tokio::spawn(async move { c.send(customer_mail("订单查询")).await })
    };
    let delivery = accept_next(&mut inbound_rx).await;
    assert_eq!(delivery.message.mail_from, "zhangsan@example.cn");
    let email = mime::parse(&delivery.message.data, Some(&delivery.message.mail_from), &MimeLimits::default()).unwrap();
    delivery.verdict.send(Verdict::Accepted { queue_id: "c1".into() }).unwrap();
    send.await.unwrap().unwrap();
    assert_eq!(email.subject, "订单查询");
    assert_eq!(email.from.name.as_deref(), Some("张三"));
    assert_eq!(email.text_body.as_deref().map(str::trim), Some("我的订单还没有发货。"));

    let mut ids = RandomMessageIds { domain: "hotline.test".into(), random: || 0xabc };
    let support = Mailbox::new(Some("Support"), "support@hotline.test");
    let reply = thread::reply_to(&email, support, "已为您加急处理。".into(), Some(1042), &mut ids, 50);
    let relay =
        RelayConfig { host: "127.0.0.1".into(), port: sink.local_addr().port(), timeout_ms: 5_000, credentials: None };
    let sent = tokio::spawn(async move { SmtpSender::new(&relay).send(&reply).await });
    let delivery = accept_next(&mut sink_rx).await;
    delivery.verdict.send(Verdict::Accepted { queue_id: "r1".into() }).unwrap();
    sent.await.unwrap().unwrap();

    let received = mime::parse(&delivery.message.data, None, &MimeLimits::default()).unwrap();
    assert_eq!(delivery.message.rcpt_to, vec!["zhangsan@example.cn"]);
    assert_eq!(received.in_reply_to, vec!["cust-1@example.cn"]);
    assert_eq!(received.references, vec!["cust-1@example.cn"]);
    assert_eq!(received.message_id.as_deref(), Some("00000000000000000000000000000abc@hotline.test"));
    assert_eq!(received.subject, "Re: 订单查询 [#1042]");
    assert_eq!(received.text_body.as_deref().map(str::trim), Some("已为您加急处理。"));
    inbound.shutdown().await;
    sink.shutdown().await;
}

#[tokio::test]
async fn sender_flooding_gets_451_and_accepted_mail_is_not_lost() {
    let (inbound, mut rx, now) = start("hotline.test", 2).await;
    let port = inbound.local_addr().port();
    let taker = tokio::spawn(async move {
        let mut taken = Vec::new();
        while let Some(d) = rx.recv().await {
            taken.push(d.message.data.len());
            let _ = d.verdict.send(Verdict::Accepted { queue_id: format!("q{}", taken.len()) });
        }
        taken
    });
    let mailer = client(port);
    assert!(mailer.send(customer_mail("one")).await.is_ok());
    assert!(mailer.send(customer_mail("two")).await.is_ok());
    let err = mailer.send(customer_mail("three")).await.unwrap_err();
    assert!(err.is_transient(), "flood answer must be temporary: {err}");
    now.store(60_000, Ordering::SeqCst);
    assert!(mailer.send(customer_mail("four")).await.is_ok(), "the next window accepts again");
    assert_eq!(inbound.stats().messages_flood_refused.load(Ordering::Relaxed), 1, "the refusal is counted");
    assert_eq!(inbound.stats().messages_accepted.load(Ordering::Relaxed), 3);
    drop(mailer);
    inbound.shutdown().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    taker.abort();
}

#[tokio::test]
async fn application_refusal_reaches_the_client_as_a_permanent_error() {
    let (inbound, mut rx, _) = start("hotline.test", 10).await;
    let send = {
        let c = client(inbound.local_addr().port());
        tokio::spawn(async move { c.send(customer_mail("spam")).await })
    };
    let d = accept_next(&mut rx).await;
    d.verdict.send(Verdict::Rejected("policy".into())).unwrap();
    let err = send.await.unwrap().unwrap_err();
    assert!(err.is_permanent(), "{err}");
    inbound.shutdown().await;
}
