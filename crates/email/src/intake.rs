//! The glue a shell needs between the SMTP listener and the store: parse and thread one received
//! message, or say which [`Verdict`] refuses it.
//!
//! Typical wiring: `Delivery` from [`crate::listener`] → [`receive`] → store the email in its
//! conversation (or open one) → answer `Verdict::Accepted` only after the store committed → ask
//! [`crate::ack::AutoAcknowledger`] whether to acknowledge → send with [`crate::sender`].
//! Does no IO itself.

use crate::mime::{self, InboundEmail, MimeError, MimeLimits};
use crate::smtp::{ReceivedMessage, Verdict};
use crate::thread::{self, ThreadLookup, ThreadMatch};

/// A parsed, threaded inbound email with its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<C> {
    pub email: InboundEmail,
    pub thread: ThreadMatch<C>,
    pub envelope_recipients: Vec<String>,
}

/// Parses and threads `message`; a message that cannot be parsed gets a permanent refusal that says why.
pub fn receive<L: ThreadLookup>(
    message: &ReceivedMessage,
    limits: &MimeLimits,
    lookup: &L,
) -> Result<Received<L::Conversation>, Verdict> {
    let email = mime::parse(&message.data, Some(&message.mail_from), limits).map_err(|e| refusal(&e))?;
    let thread = thread::thread(&email, lookup);
    Ok(Received { email, thread, envelope_recipients: message.rcpt_to.clone() })
}

/// The SMTP answer for a message that cannot be parsed.
pub fn refusal(error: &MimeError) -> Verdict {
    Verdict::Rejected(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoConversations;
    impl ThreadLookup for NoConversations {
        type Conversation = u8;
        fn conversation_by_message_id(&self, _: &str) -> Option<u8> {
            None
        }
        fn conversation_by_ticket_number(&self, _: i64) -> Option<u8> {
            None
        }
    }

    fn received(data: &[u8]) -> ReceivedMessage {
        ReceivedMessage {
            helo: "c".into(),
            mail_from: "a@x.test".into(),
            rcpt_to: vec!["s@h.test".into()],
            data: data.to_vec(),
        }
    }

    #[test]
    fn parsable_message_is_threaded_with_its_envelope() {
        let r = receive(
            &received(b"From: a@x.test\r\nSubject: hi\r\n\r\nbody\r\n"),
            &MimeLimits::default(),
            &NoConversations,
        );
        let r = r.expect("parses");
        assert_eq!(r.thread, ThreadMatch::New);
        assert_eq!(r.envelope_recipients, vec!["s@h.test"]);
        assert_eq!(r.email.return_path.as_deref(), Some("a@x.test"));
    }

    #[test]
    fn unparsable_message_is_refused_with_the_reason() {
        let verdict = receive(&received(b"no headers at all"), &MimeLimits::default(), &NoConversations).unwrap_err();
        assert_eq!(verdict, Verdict::Rejected("malformed message: no usable From address".into()));
    }
}
