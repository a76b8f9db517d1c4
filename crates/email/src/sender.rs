//! Outbound delivery: turns an [`OutboundEmail`] into a MIME message and sends it to the configured
//! relay with `lettre`.
//!
//! The threading headers (Message-ID, In-Reply-To, References) and `Auto-Submitted` come from the
//! [`OutboundEmail`] unchanged; this module adds no rules of its own. It speaks plain SMTP to the relay
//! (a local MTA or a relay on a trusted network): TLS to a remote relay is not built in yet.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::mime::Mailbox;
use crate::thread::OutboundEmail;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("address {address:?} cannot be used: {reason}")]
    BadAddress { address: String, reason: String },
    #[error("message cannot be built: {0}")]
    Build(String),
    #[error("relay refused or failed: {0}")]
    Relay(String),
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub host: String,
    pub port: u16,
    pub timeout_ms: u64,
    pub credentials: Option<(String, String)>,
}

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpSender {
    pub fn new(config: &RelayConfig) -> Self {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            .port(config.port)
            .timeout(Some(Duration::from_millis(config.timeout_ms)));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Self { transport: builder.build() }
    }

    pub async fn send(&self, email: &OutboundEmail) -> Result<(), SendError> {
        let message = to_message(email)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| SendError::Relay(e.to_string()))
    }
}

/// Builds the MIME message (text, or text and HTML alternatives) with threading headers.
pub fn to_message(email: &OutboundEmail) -> Result<Message, SendError> {
    let mut builder = Message::builder()
        .from(mailbox(&email.from)?)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{}>", email.message_id)));
    for to in &email.to {
        builder = builder.to(mailbox(to)?);
    }
    for cc in &email.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    if let Some(parent) = &email.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !email.references.is_empty() {
        let refs: Vec<String> = email.references.iter().map(|r| format!("<{r}>")).collect();
        builder = builder.references(refs.join(" "));
    }
    if let Some(value) = email.auto_submitted {
        let name = HeaderName::new_from_ascii_str("Auto-Submitted");
        builder = builder.raw_header(HeaderValue::new(name, value.to_owned()));
    }
    let built = match &email.html_body {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(email.text_body.clone(), html.clone())),
        None => builder.body(email.text_body.clone()),
    };
    built.map_err(|e| SendError::Build(e.to_string()))
}

fn mailbox(m: &Mailbox) -> Result<LettreMailbox, SendError> {
    let address = m.address.parse().map_err(|e: lettre::address::AddressError| SendError::BadAddress {
        address: m.address.clone(),
        reason: e.to_string(),
    })?;
    Ok(LettreMailbox::new(m.name.clone(), address))
}
