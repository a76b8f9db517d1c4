//! The SMTP server state machine, driven byte by byte with no sockets.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use email::smtp::{ReceivedMessage, SmtpConfig, SmtpLimits, SmtpOutput, SmtpSession, Verdict};

fn config(limits: SmtpLimits) -> SmtpConfig {
    SmtpConfig { hostname: "mx.hotline.test".into(), accepted_domains: vec!["hotline.test".into()], limits }
}

struct Client {
    session: SmtpSession,
    replies: Vec<String>,
    messages: Vec<ReceivedMessage>,
    closed: bool,
}

impl Client {
    fn new(limits: SmtpLimits) -> Self {
        let mut c =
            Self { session: SmtpSession::new(config(limits)), replies: vec![], messages: vec![], closed: false };
        c.drain();
        c
    }
    fn send(&mut self, bytes: &str) -> Vec<String> {
        let before = self.replies.len();
        self.session.handle_input(bytes.as_bytes());
        self.drain();
        self.replies[before..].to_vec()
    }
    fn drain(&mut self) {
        while let Some(out) = self.session.poll_output() {
            match out {
                SmtpOutput::Transmit(b) => self.replies.push(String::from_utf8(b).unwrap()),
                SmtpOutput::Message(m) => self.messages.push(m),
                SmtpOutput::Close => self.closed = true,
            }
        }
    }
    fn verdict(&mut self, v: Verdict) -> String {
        self.session.handle_verdict(v);
        self.drain();
        self.replies.last().unwrap().clone()
    }
    fn code(reply: &[String]) -> &str {
        &reply.last().unwrap()[..3]
    }
}

fn envelope(c: &mut Client) {
    assert_eq!(Client::code(&c.send("EHLO client.test\r\n")), "250");
    assert_eq!(Client::code(&c.send("MAIL FROM:<alice@example.com>\r\n")), "250");
    assert_eq!(Client::code(&c.send("RCPT TO:<support@hotline.test>\r\n")), "250");
}

#[test]
fn greeting_and_ehlo_advertise_size() {
    let mut c = Client::new(SmtpLimits { max_message_bytes: 5000, ..SmtpLimits::default() });
    assert!(c.replies[0].starts_with("220 mx.hotline.test"));
    let reply = c.send("EHLO client.test\r\n").concat();
    assert!(reply.contains("250-SIZE 5000\r\n"), "{reply}");
    assert!(reply.contains("PIPELINING"));
}

#[test]
fn full_transaction_unstuffs_dots_and_waits_for_the_verdict() {
    let mut c = Client::new(SmtpLimits::default());
    envelope(&mut c);
    assert_eq!(Client::code(&c.send("DATA\r\n")), "354");
    let replies = c.send("Subject: x\r\n\r\n..leading dot\r\n.\r\n");
    assert!(replies.is_empty(), "no 250 before the application took the message: {replies:?}");
    assert_eq!(c.messages.len(), 1);
    assert_eq!(c.messages[0].data, b"Subject: x\r\n\r\n.leading dot\r\n");
    assert_eq!(c.messages[0].mail_from, "alice@example.com");
    assert_eq!(c.messages[0].rcpt_to, vec!["support@hotline.test"]);
    assert!(c.verdict(Verdict::Accepted { queue_id: "q1".into() }).starts_with("250 2.0.0 OK queued as q1"));
    assert_eq!(Client::code(&c.send("QUIT\r\n")), "221");
    assert!(c.closed);
}

#[test]
fn commands_out_of_order_get_503() {
    let mut c = Client::new(SmtpLimits::default());
    assert_eq!(Client::code(&c.send("MAIL FROM:<a@b.c>\r\n")), "503");
    c.send("HELO x\r\n");
    assert_eq!(Client::code(&c.send("RCPT TO:<support@hotline.test>\r\n")), "503");
    assert_eq!(Client::code(&c.send("DATA\r\n")), "503");
}

#[test]
fn foreign_recipient_domain_is_refused_so_we_never_relay() {
    let mut c = Client::new(SmtpLimits::default());
    c.send("EHLO x\r\nMAIL FROM:<a@b.c>\r\n");
    assert_eq!(Client::code(&c.send("RCPT TO:<victim@elsewhere.test>\r\n")), "550");
}

#[test]
fn declared_size_over_the_limit_is_refused_at_mail_from() {
    let mut c = Client::new(SmtpLimits { max_message_bytes: 1000, ..SmtpLimits::default() });
    c.send("EHLO x\r\n");
    assert_eq!(Client::code(&c.send("MAIL FROM:<a@b.c> SIZE=1001\r\n")), "552");
}

#[test]
fn data_over_max_message_bytes_is_refused_with_552_and_not_delivered() {
    let mut c = Client::new(SmtpLimits { max_message_bytes: 100, ..SmtpLimits::default() });
    envelope(&mut c);
    c.send("DATA\r\n");
    let big = "0123456789012345678901234567890123456789\r\n".repeat(5);
    let replies = c.send(&format!("{big}.\r\n"));
    assert_eq!(Client::code(&replies), "552");
    assert!(c.messages.is_empty());
    assert_eq!(Client::code(&c.send("NOOP\r\n")), "250");
}

#[test]
fn too_long_command_line_gets_500_and_the_session_goes_on() {
    let mut c = Client::new(SmtpLimits { max_line_bytes: 64, ..SmtpLimits::default() });
    let replies = c.send(&format!("NOOP {}\r\n", "x".repeat(200)));
    assert_eq!(Client::code(&replies), "500");
    assert_eq!(Client::code(&c.send("NOOP\r\n")), "250");
}

#[test]
fn recipients_beyond_the_limit_get_452() {
    let mut c = Client::new(SmtpLimits { max_recipients: 2, ..SmtpLimits::default() });
    envelope(&mut c);
    assert_eq!(Client::code(&c.send("RCPT TO:<b@hotline.test>\r\n")), "250");
    assert_eq!(Client::code(&c.send("RCPT TO:<c@hotline.test>\r\n")), "452");
}

#[test]
fn too_many_commands_close_the_connection_with_421() {
    let mut c = Client::new(SmtpLimits { max_commands_per_connection: 3, ..SmtpLimits::default() });
    let replies = c.send("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n");
    assert_eq!(replies.len(), 4);
    assert_eq!(Client::code(&replies), "421");
    assert!(c.closed && c.session.is_closed());
}

#[test]
fn rset_clears_the_transaction() {
    let mut c = Client::new(SmtpLimits::default());
    envelope(&mut c);
    assert_eq!(Client::code(&c.send("RSET\r\n")), "250");
    assert_eq!(Client::code(&c.send("DATA\r\n")), "503");
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let mut c = Client::new(SmtpLimits::default());
    let replies = c.send("EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<s@hotline.test>\r\nDATA\r\n");
    let codes: Vec<&str> = replies.iter().map(|r| &r[..3]).collect();
    assert_eq!(codes, ["250", "250", "250", "354"]);
    c.send("hi\r\n.\r\nQUIT\r\n");
    assert_eq!(c.messages[0].mail_from, "", "null reverse path is kept as empty");
    c.verdict(Verdict::TemporaryFailure("flood".into()));
    let tail: Vec<&str> = c.replies.iter().rev().take(2).rev().map(|r| &r[..3]).collect();
    assert_eq!(tail, ["451", "221"]);
    assert!(c.closed, "the pipelined QUIT runs after the verdict");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_in_any_chunks_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)) {
            let mut s = SmtpSession::new(config(SmtpLimits { max_line_bytes: 128, max_message_bytes: 512, ..SmtpLimits::default() }));
            for chunk in chunks {
                s.handle_input(&chunk);
                while let Some(out) = s.poll_output() {
                    if let SmtpOutput::Message(_) = out {
                        s.handle_verdict(Verdict::Accepted { queue_id: "q".into() });
                    }
                }
            }
        }
    }
}

#[test]
fn sender_check_refuses_at_mail_from_with_450_before_any_data() {
    let mut allowed = 1;
    let check: email::smtp::SenderCheck = Box::new(move |path: &str| {
        assert_eq!(path, "flood@example.com");
        if allowed > 0 {
            allowed -= 1;
            Ok(())
        } else {
            Err("slow down".into())
        }
    });
    let mut c = Client::new(SmtpLimits::default());
    c.session = SmtpSession::new(config(SmtpLimits::default())).with_sender_check(check);
    c.send("EHLO x\r\n");
    assert_eq!(Client::code(&c.send("MAIL FROM:<flood@example.com>\r\n")), "250");
    c.send("RSET\r\n");
    assert_eq!(c.send("MAIL FROM:<flood@example.com>\r\n"), ["450 4.7.1 slow down\r\n"]);
    assert_eq!(Client::code(&c.send("RCPT TO:<s@hotline.test>\r\n")), "503", "no transaction was opened");
}
