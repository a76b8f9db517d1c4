//! An RFC 5321 subset SMTP server as a sans-IO state machine: bytes in, replies and messages out.
//!
//! Supports EHLO/HELO, MAIL FROM (with the SIZE parameter), RCPT TO, DATA with dot-unstuffing, RSET,
//! NOOP, VRFY (252), HELP, QUIT; STARTTLS and AUTH answer 502. It advertises SIZE, 8BITMIME and
//! PIPELINING (replies are produced strictly in command order, so pipelining needs nothing more).
//! Limits: `max_line_bytes`, `max_message_bytes`, `max_recipients`, `max_commands_per_connection` and
//! `max_errors_per_connection` (after which the connection is closed with 421).
//!
//! An optional [`SenderCheck`] supplied by the shell (for example a per-sender flood limit) can refuse
//! a reverse path at MAIL FROM with 450, before any message bytes are transferred.
//!
//! At the end of DATA the session emits [`SmtpOutput::Message`] and waits for the application's
//! [`Verdict`]; it never says `250` to a message the application did not take. It never relays: a
//! recipient outside `accepted_domains` gets 550. It never panics on any bytes.

use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpLimits {
    /// Longest command or text line, CRLF included (RFC 5321 §4.5.3.1: 512 for commands, 1000 for text).
    pub max_line_bytes: usize,
    pub max_message_bytes: usize,
    pub max_recipients: usize,
    pub max_commands_per_connection: usize,
    pub max_errors_per_connection: usize,
}

impl Default for SmtpLimits {
    fn default() -> Self {
        Self {
            max_line_bytes: 1000,
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            max_commands_per_connection: 1000,
            max_errors_per_connection: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The name we greet with.
    pub hostname: String,
    /// Recipient domains we accept mail for (lower-case); anything else is refused, so we are never a relay.
    pub accepted_domains: Vec<String>,
    pub limits: SmtpLimits,
}

/// A message received in full, waiting for the application's [`Verdict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub helo: String,
    /// The reverse path without brackets; empty for the null path `<>` (bounces).
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

/// The application's answer to a [`ReceivedMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Taken and stored: `250`.
    Accepted { queue_id: String },
    /// Try later (flood limit, store unavailable): `451`.
    TemporaryFailure(String),
    /// Never (policy, malformed): `554`.
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpOutput {
    /// Bytes to write to the client.
    Transmit(Vec<u8>),
    /// A message that needs [`SmtpSession::handle_verdict`].
    Message(ReceivedMessage),
    /// Close the connection after writing what was transmitted.
    Close,
}

/// Decides at MAIL FROM whether a reverse path (empty for `<>`) may send now; `Err` says why not.
pub type SenderCheck = Box<dyn FnMut(&str) -> Result<(), String> + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Command,
    Data,
    AwaitingVerdict,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataError {
    TooLarge,
    LineTooLong,
}

pub struct SmtpSession {
    config: SmtpConfig,
    state: State,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpts: Vec<String>,
    inbuf: Vec<u8>,
    discarding_line: bool,
    data: Vec<u8>,
    data_error: Option<DataError>,
    commands: usize,
    errors: usize,
    out: VecDeque<SmtpOutput>,
    sender_check: Option<SenderCheck>,
}

impl SmtpSession {
    /// A new connection; the 220 greeting is already queued.
    pub fn new(config: SmtpConfig) -> Self {
        let mut session = Self {
            state: State::Command,
            helo: None,
            mail_from: None,
            rcpts: Vec::new(),
            inbuf: Vec::new(),
            discarding_line: false,
            data: Vec::new(),
            data_error: None,
            commands: 0,
            errors: 0,
            out: VecDeque::new(),
            sender_check: None,
            config,
        };
        let greeting = format!("220 {} ESMTP Hotline", session.config.hostname);
        session.reply(&greeting);
        session
    }

    /// Installs the shell's check of reverse paths at MAIL FROM.
    pub fn with_sender_check(mut self, check: SenderCheck) -> Self {
        self.sender_check = Some(check);
        self
    }

    pub fn poll_output(&mut self) -> Option<SmtpOutput> {
        self.out.pop_front()
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Feeds bytes read from the connection.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        self.inbuf.extend_from_slice(bytes);
        self.process_buffer();
    }

    /// The application's answer to the last [`SmtpOutput::Message`].
    pub fn handle_verdict(&mut self, verdict: Verdict) {
        if self.state != State::AwaitingVerdict {
            return;
        }
        let text = match verdict {
            Verdict::Accepted { queue_id } => format!("250 2.0.0 OK queued as {}", one_line(&queue_id)),
            Verdict::TemporaryFailure(why) => format!("451 4.7.0 {}", one_line(&why)),
            Verdict::Rejected(why) => format!("554 5.7.0 {}", one_line(&why)),
        };
        self.reply(&text);
        self.reset_transaction();
        self.state = State::Command;
        self.process_buffer();
    }

    /// Closes after a connection-level timeout, with the 421 RFC 5321 asks for.
    pub fn handle_timeout(&mut self) {
        if self.state != State::Closed {
            self.close("421 4.4.2 idle timeout, closing connection");
        }
    }

    fn process_buffer(&mut self) {
        while matches!(self.state, State::Command | State::Data) {
            let Some(newline) = self.inbuf.iter().position(|&b| b == b'\n') else {
                if self.inbuf.len() > self.config.limits.max_line_bytes {
                    self.inbuf.clear();
                    self.line_too_long();
                }
                return;
            };
            let mut line: Vec<u8> = self.inbuf.drain(..=newline).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if self.discarding_line {
                self.discarding_line = false;
                continue;
            }
            if line.len() + 2 > self.config.limits.max_line_bytes {
                self.line_too_long();
                self.discarding_line = false;
                continue;
            }
            match self.state {
                State::Data => self.data_line(&line),
                _ => self.command_line(&line),
            }
        }
        if self.state == State::AwaitingVerdict && self.inbuf.len() > self.config.limits.max_line_bytes * 4 {
            self.close("421 4.7.0 too much pipelined input, closing connection");
        }
    }

    fn line_too_long(&mut self) {
        self.discarding_line = true;
        if self.state == State::Data {
            self.data_error = Some(DataError::LineTooLong);
        } else {
            self.error_reply("500 5.5.2 line too long");
        }
    }

    fn data_line(&mut self, line: &[u8]) {
        if line == b"." {
            self.end_of_data();
            return;
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        if self.data_error.is_some() {
            return;
        }
        if self.data.len() + line.len() + 2 > self.config.limits.max_message_bytes {
            self.data_error = Some(DataError::TooLarge);
            self.data = Vec::new();
            return;
        }
        self.data.extend_from_slice(line);
        self.data.extend_from_slice(b"\r\n");
    }

    fn end_of_data(&mut self) {
        match self.data_error.take() {
            Some(DataError::TooLarge) => {
                let text = format!("552 5.3.4 message exceeds {} bytes", self.config.limits.max_message_bytes);
                self.reply(&text);
            }
            Some(DataError::LineTooLong) => self.reply("500 5.5.2 message has a line that is too long"),
            None => {
                let message = ReceivedMessage {
                    helo: self.helo.clone().unwrap_or_default(),
                    mail_from: self.mail_from.clone().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut self.rcpts),
                    data: std::mem::take(&mut self.data),
                };
                self.out.push_back(SmtpOutput::Message(message));
                self.state = State::AwaitingVerdict;
                return;
            }
        }
        self.reset_transaction();
        self.state = State::Command;
    }

    fn command_line(&mut self, line: &[u8]) {
        self.commands += 1;
        if self.commands > self.config.limits.max_commands_per_connection {
            self.close("421 4.7.0 too many commands, closing connection");
            return;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            self.error_reply("500 5.5.2 command is not valid UTF-8");
            return;
        };
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        let arg = arg.trim();
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" => self.hello(verb.eq_ignore_ascii_case("EHLO"), arg),
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg),
            "DATA" => self.data_command(arg),
            "RSET" => {
                self.reset_transaction();
                self.reply("250 2.0.0 OK");
            }
            "NOOP" => self.reply("250 2.0.0 OK"),
            "VRFY" => self.reply("252 2.5.0 cannot verify user, but will accept message"),
            "HELP" => self.reply("214 2.0.0 see RFC 5321"),
            "QUIT" => self.close(&format!("221 2.0.0 {} closing connection", self.config.hostname)),
            "STARTTLS" | "AUTH" | "EXPN" | "TURN" | "BDAT" => self.error_reply("502 5.5.1 command not implemented"),
            _ => self.error_reply("500 5.5.2 command not recognised"),
        }
    }

    fn hello(&mut self, extended: bool, arg: &str) {
        if arg.is_empty() {
            self.error_reply("501 5.5.4 a domain or address literal is required");
            return;
        }
        self.reset_transaction();
        self.helo = Some(arg.to_owned());
        let host = self.config.hostname.clone();
        if extended {
            let size = self.config.limits.max_message_bytes;
            self.reply(&format!("250-{host}\r\n250-SIZE {size}\r\n250-8BITMIME\r\n250 PIPELINING"));
        } else {
            self.reply(&format!("250 {host}"));
        }
    }

    fn mail(&mut self, arg: &str) {
        if self.helo.is_none() {
            return self.error_reply("503 5.5.1 send EHLO or HELO first");
        }
        if self.mail_from.is_some() {
            return self.error_reply("503 5.5.1 nested MAIL command");
        }
        let Some((path, params)) = parse_path(arg, "FROM:") else {
            return self.error_reply("501 5.5.4 syntax: MAIL FROM:<address>");
        };
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            if key.eq_ignore_ascii_case("SIZE") {
                let declared: usize = value.parse().unwrap_or(usize::MAX);
                if declared > self.config.limits.max_message_bytes {
                    let text = format!("552 5.3.4 message size exceeds {} bytes", self.config.limits.max_message_bytes);
                    return self.reply(&text);
                }
            }
        }
        if let Some(Err(why)) = self.sender_check.as_mut().map(|check| check(&path)) {
            return self.reply(&format!("450 4.7.1 {}", one_line(&why)));
        }
        self.mail_from = Some(path);
        self.reply("250 2.1.0 OK");
    }

    fn rcpt(&mut self, arg: &str) {
        if self.mail_from.is_none() {
            return self.error_reply("503 5.5.1 send MAIL FROM first");
        }
        let Some((path, _)) = parse_path(arg, "TO:").filter(|(p, _)| !p.is_empty()) else {
            return self.error_reply("501 5.5.4 syntax: RCPT TO:<address>");
        };
        if self.rcpts.len() >= self.config.limits.max_recipients {
            return self.reply("452 4.5.3 too many recipients");
        }
        let domain = path.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        if !self.config.accepted_domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
            return self.error_reply("550 5.7.1 relaying denied");
        }
        self.rcpts.push(path);
        self.reply("250 2.1.5 OK");
    }

    fn data_command(&mut self, arg: &str) {
        if !arg.is_empty() {
            return self.error_reply("501 5.5.4 DATA takes no arguments");
        }
        if self.mail_from.is_none() || self.rcpts.is_empty() {
            return self.error_reply("503 5.5.1 need MAIL FROM and RCPT TO first");
        }
        self.state = State::Data;
        self.data.clear();
        self.data_error = None;
        self.reply("354 end data with <CR><LF>.<CR><LF>");
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpts.clear();
        self.data = Vec::new();
        self.data_error = None;
    }

    fn reply(&mut self, text: &str) {
        let mut bytes = Vec::with_capacity(text.len() + 2);
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.out.push_back(SmtpOutput::Transmit(bytes));
    }

    fn error_reply(&mut self, text: &str) {
        self.errors += 1;
        if self.errors > self.config.limits.max_errors_per_connection {
            self.close("421 4.7.0 too many errors, closing connection");
        } else {
            self.reply(text);
        }
    }

    fn close(&mut self, text: &str) {
        self.reply(text);
        self.out.push_back(SmtpOutput::Close);
        self.state = State::Closed;
        self.inbuf = Vec::new();
    }
}

/// Parses `FROM:<path> params` (the keyword case-insensitive, a space after the colon tolerated).
fn parse_path(arg: &str, keyword: &str) -> Option<(String, String)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let mut path = &rest[..end];
    if let Some((_route, mailbox)) = path.split_once(':').filter(|_| path.starts_with('@')) {
        path = mailbox;
    }
    if path.len() > 256 || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    if !path.is_empty() && !path.contains('@') {
        return None;
    }
    Some((path.to_owned(), rest[end + 1..].trim().to_owned()))
}

fn one_line(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}
