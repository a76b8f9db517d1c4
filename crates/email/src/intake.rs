//! The glue a shell needs between the SMTP listener and the store: parse and thread one received
//! message, or say which [`Verdict`] refuses it.
//!
//! Typical wiring: `Delivery` from [`crate::listener`] → [`receive`] → store the email in its
//! conversation (or open one) → answer `Verdict::Accepted` only after the store committed → ask
//! [`crate::ack::AutoAcknowledger`] whether to acknowledge → send with [`crate::sender`].
//! The same path serves the SMTP listener and the IMAP poller ([`crate::imap`]): both hand over a
//! `Delivery`. Both may deliver a message twice (a sender retrying after a lost `250`, a poll
//! interrupted between acceptance and `\Seen`), so [`Received::duplicate_of`] says when its
//! Message-ID is already stored: answer `Accepted` without storing it again.
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
    /// The conversation that already holds a message with this Message-ID: a redelivery, not new mail.
    pub duplicate_of: Option<C>,
}

/// Parses and threads `message`; a message that cannot be parsed gets a permanent refusal that says why.
pub fn receive<L: ThreadLookup>(
    message: &ReceivedMessage,
    limits: &MimeLimits,
    lookup: &L,
) -> Result<Received<L::Conversation>, Verdict> {
    let email = mime::parse(&message.data, Some(&message.mail_from), limits).map_err(|e| refusal(&e))?;
    let duplicate_of = email.message_id.as_deref().and_then(|id| lookup.conversation_by_message_id(id));
    let thread = thread::thread(&email, lookup);
    Ok(Received { email, thread, envelope_recipients: message.rcpt_to.clone(), duplicate_of })
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
    fn message_whose_id_is_already_stored_is_a_duplicate() {
        struct Known;
        impl ThreadLookup for Known {
            type Conversation = u8;
            fn conversation_by_message_id(&self, id: &str) -> Option<u8> {
                (id == "m1@x.test").then_some(7)
            }
            fn conversation_by_ticket_number(&self, _: i64) -> Option<u8> {
                None
            }
        }
        let raw = b"From: a@x.test\r\nMessage-ID: <m1@x.test>\r\n\r\nbody\r\n";
        let r = receive(&received(raw), &MimeLimits::default(), &Known).expect("parses");
        assert_eq!(r.duplicate_of, Some(7));
        let raw = b"From: a@x.test\r\nMessage-ID: <m2@x.test>\r\n\r\nbody\r\n";
        assert_eq!(receive(&received(raw), &MimeLimits::default(), &Known).expect("parses").duplicate_of, None);
    }

    #[test]
    fn unparsable_message_is_refused_with_the_reason() {
        let verdict = receive(&received(b"no headers at all"), &MimeLimits::default(), &NoConversations).unwrap_err();
        assert_eq!(verdict, Verdict::Rejected("malformed message: no usable From address".into()));
    }
}
