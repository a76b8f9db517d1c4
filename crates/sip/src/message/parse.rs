//! Parsing: start line, unfolding, header splitting, validation of the core headers, and framing of
//! datagrams and streams by Content-Length.
//!
//! Must never panic or allocate beyond [`Limits`]; every failure is a [`ParseError`]. What to do
//! with a failure (answer 400/505/513 or drop and count) is decided by [`answer_malformed`].

use thiserror::Error;

use super::header::{HeaderName, Headers};
use super::text::{is_token, is_ws, parse_u32, trim_ws};
use super::uri::Uri;
use super::values::{CSeq, Contact, Method, NameAddr, StatusCode, Via, split_list};
use super::{Message, Request, Response};

/// Size limits applied while parsing. Units are in the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whole message (start line + headers + body).
    pub max_message_bytes: usize,
    /// Header fields after splitting comma-separated lists.
    pub max_headers: usize,
    /// One header field after unfolding.
    pub max_header_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_message_bytes: 64 * 1024, max_headers: 128, max_header_line_bytes: 8 * 1024 }
    }
}

/// Why a message did not parse. The `Display` text is short, has no CR/LF, and is used as the
/// reason phrase of a 400 response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("Message Too Large")]
    TooLarge { max_message_bytes: usize },
    #[error("Too Many Headers")]
    TooManyHeaders { max_headers: usize },
    #[error("Header Too Long")]
    HeaderLineTooLong { max_header_line_bytes: usize },
    #[error("Incomplete Header Section")]
    IncompleteHead,
    #[error("Invalid UTF-8 In Header Section")]
    NotUtf8,
    #[error("Malformed Start Line")]
    BadStartLine,
    #[error("Version Not Supported")]
    UnsupportedVersion,
    #[error("Invalid Status Code")]
    BadStatusCode,
    #[error("Invalid Request-URI")]
    BadRequestUri,
    #[error("Malformed Header Line")]
    BadHeaderLine,
    #[error("Invalid {0}")]
    BadHeader(&'static str),
    #[error("Missing {0}")]
    MissingHeader(&'static str),
    #[error("Duplicate {0}")]
    DuplicateHeader(&'static str),
    #[error("CSeq Method Mismatch")]
    CSeqMethodMismatch,
    #[error("Invalid Content-Length")]
    BadContentLength,
    #[error("Missing Content-Length")]
    MissingContentLength,
    #[error("Body Shorter Than Content-Length")]
    BodyTruncated { declared_bytes: usize, available_bytes: usize },
}

impl ParseError {
    /// The status a server answers with, when it can answer at all.
    pub fn status(&self) -> StatusCode {
        match self {
            ParseError::UnsupportedVersion => StatusCode::VERSION_NOT_SUPPORTED,
            ParseError::TooLarge { .. } => StatusCode::new(513).unwrap_or(StatusCode::BAD_REQUEST),
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Result of framing the front of a stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFrame {
    /// Not enough bytes yet for one message: read more.
    Incomplete,
    /// `len` bytes of CRLF keep-alive (RFC 5626 §4.4.1) to discard.
    KeepAlive { len: usize },
    /// One whole message occupies the first `len` bytes.
    Message { len: usize },
}

/// Finds the end of the first message in a stream buffer (TCP/TLS), using Content-Length, which is
/// mandatory on streams (RFC 3261 §18.3). Errors mean the stream is unusable and must be closed.
pub fn frame_stream(buf: &[u8], limits: &Limits) -> Result<StreamFrame, ParseError> {
    let crlfs = buf.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    if crlfs > 0 {
        return Ok(StreamFrame::KeepAlive { len: crlfs });
    }
    let Some((head_end, body_start)) = find_head_end(buf) else {
        if buf.len() > limits.max_message_bytes {
            return Err(ParseError::TooLarge { max_message_bytes: limits.max_message_bytes });
        }
        return Ok(StreamFrame::Incomplete);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| ParseError::NotUtf8)?;
    let lines = unfold(head, limits)?;
    let mut length = None;
    for (name, value) in lines.iter().skip(1).filter_map(|l| split_header_line(l).ok()) {
        if HeaderName::parse(name) == HeaderName::ContentLength {
            let n = parse_content_length(value)?;
            if length.is_some_and(|old| old != n) {
                return Err(ParseError::DuplicateHeader("Content-Length"));
            }
            length = Some(n);
        }
    }
    let length = length.ok_or(ParseError::MissingContentLength)?;
    let total = body_start.checked_add(length).ok_or(ParseError::BadContentLength)?;
    if total > limits.max_message_bytes {
        return Err(ParseError::TooLarge { max_message_bytes: limits.max_message_bytes });
    }
    Ok(if buf.len() >= total { StreamFrame::Message { len: total } } else { StreamFrame::Incomplete })
}

/// True for a datagram of CRLFs only: a keep-alive ping (some phones send these over UDP) to
/// ignore without answer or error count.
pub fn is_keepalive(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|b| *b == b'\r' || *b == b'\n')
}

/// Parses one message framed by [`frame_stream`]: Content-Length is required and must match.
pub fn parse_stream_message(bytes: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    parse_with(bytes, limits, true)
}

/// Parses a whole datagram (UDP). Bytes past Content-Length are discarded (RFC 3261 §18.3); a body
/// shorter than Content-Length is an error; without Content-Length the body runs to the end.
pub fn parse_datagram(bytes: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    parse_with(bytes, limits, false)
}

fn parse_with(bytes: &[u8], limits: &Limits, stream: bool) -> Result<Message, ParseError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(ParseError::TooLarge { max_message_bytes: limits.max_message_bytes });
    }
    let leading = bytes.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    let bytes = &bytes[leading..];
    let (head_end, body_start) = find_head_end(bytes).ok_or(ParseError::IncompleteHead)?;
    let head = std::str::from_utf8(&bytes[..head_end]).map_err(|_| ParseError::NotUtf8)?;
    let lines = unfold(head, limits)?;
    let start = lines.first().ok_or(ParseError::BadStartLine)?;
    let (headers, content_length) = collect_headers(&lines[1..], limits)?;
    let available = bytes.len() - body_start;
    let body_len = match content_length {
        Some(n) if n > available => {
            return Err(ParseError::BodyTruncated { declared_bytes: n, available_bytes: available });
        }
        Some(n) => n,
        None if stream => return Err(ParseError::MissingContentLength),
        None => available,
    };
    let body = bytes[body_start..body_start + body_len].to_vec();
    if start.starts_with("SIP/") {
        let (status, reason) = parse_status_line(start)?;
        validate_common(&headers)?;
        return Ok(Message::Response(Response { status, reason, headers, body }));
    }
    let (method, uri) = parse_request_line(start)?;
    let cseq = validate_common(&headers)?;
    if cseq.method != method {
        return Err(ParseError::CSeqMethodMismatch);
    }
    Ok(Message::Request(Request { method, uri, headers, body }))
}

/// Returns (end of the header section, start of the body).
fn find_head_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            if bytes.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') {
                let end = if i > 0 && bytes[i - 1] == b'\r' { i - 1 } else { i };
                return Some((end, i + 3));
            }
        }
        i += 1;
    }
    None
}

/// Splits the header section into logical lines, joining continuation lines (LWS folding) with one
/// space. The first line is the start line.
fn unfold<'a>(head: &'a str, limits: &Limits) -> Result<Vec<std::borrow::Cow<'a, str>>, ParseError> {
    let mut lines: Vec<std::borrow::Cow<'a, str>> = Vec::new();
    for raw in head.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.contains('\r') {
            return Err(ParseError::BadHeaderLine);
        }
        if line.starts_with(is_ws) {
            // A continuation of the start line (or of nothing) is not allowed.
            if lines.len() <= 1 {
                return Err(ParseError::BadStartLine);
            }
            let Some(last) = lines.last_mut() else {
                return Err(ParseError::BadStartLine);
            };
            let joined = last.to_mut();
            joined.push(' ');
            joined.push_str(trim_ws(line));
            if joined.len() > limits.max_header_line_bytes {
                return Err(ParseError::HeaderLineTooLong { max_header_line_bytes: limits.max_header_line_bytes });
            }
            continue;
        }
        if line.len() > limits.max_header_line_bytes {
            return Err(ParseError::HeaderLineTooLong { max_header_line_bytes: limits.max_header_line_bytes });
        }
        // The start line and Content-Length do not count against `max_headers`.
        if lines.len() > limits.max_headers.saturating_add(1) {
            return Err(ParseError::TooManyHeaders { max_headers: limits.max_headers });
        }
        lines.push(std::borrow::Cow::Borrowed(line));
    }
    Ok(lines)
}

fn split_header_line(line: &str) -> Result<(&str, &str), ParseError> {
    let (name, value) = line.split_once(':').ok_or(ParseError::BadHeaderLine)?;
    let name = name.trim_end_matches(is_ws);
    if !is_token(name) {
        return Err(ParseError::BadHeaderLine);
    }
    Ok((name, trim_ws(value)))
}

fn parse_content_length(value: &str) -> Result<usize, ParseError> {
    parse_u32(trim_ws(value)).map(|n| n as usize).ok_or(ParseError::BadContentLength)
}

fn collect_headers(
    lines: &[std::borrow::Cow<'_, str>],
    limits: &Limits,
) -> Result<(Headers, Option<usize>), ParseError> {
    let mut headers = Headers::new();
    let mut content_length = None;
    for line in lines {
        let (name, value) = split_header_line(line)?;
        let name = HeaderName::parse(name);
        if name == HeaderName::ContentLength {
            if content_length.is_some() {
                return Err(ParseError::DuplicateHeader("Content-Length"));
            }
            content_length = Some(parse_content_length(value)?);
            continue;
        }
        let is_star_contact = name == HeaderName::Contact && value == "*";
        if name.is_list() && !is_star_contact {
            let items = split_list(value).ok_or(ParseError::BadHeader(static_name(&name)))?;
            for item in items {
                headers.push(name.clone(), item);
            }
        } else {
            headers.push(name, value);
        }
        if headers.len() > limits.max_headers {
            return Err(ParseError::TooManyHeaders { max_headers: limits.max_headers });
        }
    }
    Ok((headers, content_length))
}

fn static_name(name: &HeaderName) -> &'static str {
    match name {
        HeaderName::Via => "Via",
        HeaderName::From => "From",
        HeaderName::To => "To",
        HeaderName::CallId => "Call-ID",
        HeaderName::CSeq => "CSeq",
        HeaderName::Contact => "Contact",
        HeaderName::Route => "Route",
        HeaderName::RecordRoute => "Record-Route",
        HeaderName::MaxForwards => "Max-Forwards",
        _ => "Header",
    }
}

fn parse_request_line(line: &str) -> Result<(Method, Uri), ParseError> {
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    check_version(version)?;
    let method = Method::parse(method).ok_or(ParseError::BadStartLine)?;
    let uri = Uri::parse(uri).ok_or(ParseError::BadRequestUri)?;
    if uri.is_sip() && !uri.headers.is_empty() {
        return Err(ParseError::BadRequestUri);
    }
    Ok((method, uri))
}

fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let numbers = version.get(..4).filter(|p| p.eq_ignore_ascii_case("SIP/")).and_then(|_| version.get(4..));
    match numbers.and_then(|n| n.split_once('.')) {
        Some((a, b)) if parse_u32(a).is_some() && parse_u32(b).is_some() => Err(ParseError::UnsupportedVersion),
        _ => Err(ParseError::BadStartLine),
    }
}

fn parse_status_line(line: &str) -> Result<(StatusCode, String), ParseError> {
    let (version, rest) = line.split_once(' ').ok_or(ParseError::BadStartLine)?;
    check_version(version)?;
    let (code, reason) = match rest.split_once(' ') {
        Some((c, r)) => (c, r),
        None => (rest, ""),
    };
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadStatusCode);
    }
    let status = code.parse().ok().and_then(StatusCode::new).ok_or(ParseError::BadStatusCode)?;
    if reason.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::BadStartLine);
    }
    Ok((status, reason.to_owned()))
}

fn exactly_one(count: usize, label: &'static str) -> Result<(), ParseError> {
    match count {
        0 => Err(ParseError::MissingHeader(label)),
        1 => Ok(()),
        _ => Err(ParseError::DuplicateHeader(label)),
    }
}

/// The checks RFC 3261 §8.1.1 and §8.2 make on every message, requests and responses alike.
/// Returns the parsed CSeq.
fn validate_common(headers: &Headers) -> Result<CSeq, ParseError> {
    let (mut from, mut to, mut call_id, mut cseq, mut via, mut max_forwards) = (0, 0, 0, 0, 0, 0);
    for h in headers.iter() {
        match h.name {
            HeaderName::From => from += 1,
            HeaderName::To => to += 1,
            HeaderName::CallId => call_id += 1,
            HeaderName::CSeq => cseq += 1,
            HeaderName::Via => via += 1,
            HeaderName::MaxForwards => max_forwards += 1,
            _ => {}
        }
    }
    exactly_one(from, "From")?;
    exactly_one(to, "To")?;
    exactly_one(call_id, "Call-ID")?;
    exactly_one(cseq, "CSeq")?;
    if via == 0 {
        return Err(ParseError::MissingHeader("Via"));
    }
    if max_forwards > 1 {
        return Err(ParseError::DuplicateHeader("Max-Forwards"));
    }
    headers
        .get_all(&HeaderName::Via)
        .try_for_each(|v| Via::parse(v).map(|_| ()).ok_or(ParseError::BadHeader("Via")))?;
    headers.from().ok_or(ParseError::BadHeader("From"))?;
    headers.to().ok_or(ParseError::BadHeader("To"))?;
    let parsed_cseq = headers.cseq().ok_or(ParseError::BadHeader("CSeq"))?;
    let call_id = headers.call_id().unwrap_or_default();
    if call_id.is_empty() || call_id.contains(is_ws) {
        return Err(ParseError::BadHeader("Call-ID"));
    }
    if max_forwards == 1 && headers.max_forwards().is_none() {
        return Err(ParseError::BadHeader("Max-Forwards"));
    }
    let mut stars = 0;
    let mut contacts = 0;
    for value in headers.get_all(&HeaderName::Contact) {
        contacts += 1;
        match Contact::parse(value).ok_or(ParseError::BadHeader("Contact"))? {
            Contact::Star => stars += 1,
            Contact::Address(_) => {}
        }
    }
    if stars > 0 && contacts > 1 {
        return Err(ParseError::BadHeader("Contact"));
    }
    for name in [HeaderName::Route, HeaderName::RecordRoute] {
        headers
            .get_all(&name)
            .try_for_each(|v| NameAddr::parse(v).map(|_| ()).ok_or(ParseError::BadHeader("Route")))?;
    }
    Ok(parsed_cseq)
}

/// What a server does with bytes that did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MalformedAnswer {
    /// Enough of a request was readable to answer it (400, 505 or 513): send this response.
    Respond(Response),
    /// Not answerable (a response, an ACK, or no Via/From/To/Call-ID/CSeq): drop and count.
    Drop,
}

/// Decides the answer to bytes that failed to parse with `error`: a response carrying the raw Via,
/// From, To, Call-ID and CSeq of the request when they can be found, else [`MalformedAnswer::Drop`].
pub fn answer_malformed(bytes: &[u8], error: &ParseError) -> MalformedAnswer {
    let window = &bytes[..bytes.len().min(Limits::default().max_message_bytes)];
    let leading = window.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    let window = &window[leading..];
    let head_end = find_head_end(window).map_or(window.len(), |(end, _)| end);
    let head = String::from_utf8_lossy(&window[..head_end]);
    let lenient = Limits { max_message_bytes: usize::MAX, max_headers: 256, max_header_line_bytes: 16 * 1024 };
    let Ok(lines) = unfold(&head, &lenient) else {
        return MalformedAnswer::Drop;
    };
    let Some(start) = lines.first() else {
        return MalformedAnswer::Drop;
    };
    let mut words = start.split(is_ws).filter(|w| !w.is_empty());
    let method = words.next().unwrap_or_default();
    let looks_like_request = is_token(method) && !start.starts_with("SIP/") && start.contains("SIP/");
    if !looks_like_request || method == "ACK" {
        return MalformedAnswer::Drop;
    }
    let mut headers = Headers::new();
    for (name, value) in lines.iter().skip(1).filter_map(|l| split_header_line(l).ok()) {
        let name = HeaderName::parse(name);
        let wanted = matches!(name, HeaderName::Via)
            || (matches!(name, HeaderName::From | HeaderName::To | HeaderName::CallId | HeaderName::CSeq)
                && headers.count(&name) == 0);
        if wanted && !value.is_empty() {
            headers.push(name, value);
        }
    }
    let complete = [HeaderName::Via, HeaderName::From, HeaderName::To, HeaderName::CallId, HeaderName::CSeq]
        .iter()
        .all(|n| headers.count(n) > 0);
    if !complete {
        return MalformedAnswer::Drop;
    }
    let status = error.status();
    let reason = match error {
        ParseError::UnsupportedVersion => status.default_reason().to_owned(),
        other => other.to_string(),
    };
    MalformedAnswer::Respond(Response { status, reason, headers, body: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 63104 OPTIONS\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn stream_framing_waits_for_the_whole_body() {
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhel";
        assert_eq!(frame_stream(msg, &Limits::default()), Ok(StreamFrame::Incomplete));
        let mut full = msg.to_vec();
        full.extend_from_slice(b"loINVITE");
        assert_eq!(frame_stream(&full, &Limits::default()), Ok(StreamFrame::Message { len: full.len() - 6 }));
    }

    #[test]
    fn stream_framing_skips_crlf_keepalives() {
        assert_eq!(frame_stream(b"\r\n\r\nOPTIONS", &Limits::default()), Ok(StreamFrame::KeepAlive { len: 4 }));
    }

    #[test]
    fn stream_framing_requires_content_length() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n";
        assert_eq!(frame_stream(msg, &Limits::default()), Err(ParseError::MissingContentLength));
    }

    #[test]
    fn stream_framing_refuses_an_endless_header_section() {
        let limits = Limits { max_message_bytes: 100, ..Limits::default() };
        let junk = vec![b'a'; 200];
        assert!(matches!(frame_stream(&junk, &limits), Err(ParseError::TooLarge { .. })));
    }

    #[test]
    fn round_trip_preserves_the_request() {
        let Ok(Message::Request(req)) = parse_datagram(OPTIONS, &Limits::default()) else {
            panic!("OPTIONS must parse");
        };
        let again = parse_datagram(&req.to_bytes(), &Limits::default());
        assert_eq!(again, Ok(Message::Request(req)));
    }

    #[test]
    fn too_many_headers_is_refused() {
        let limits = Limits { max_headers: 5, ..Limits::default() };
        assert!(matches!(parse_datagram(OPTIONS, &limits), Err(ParseError::TooManyHeaders { .. })));
    }

    #[test]
    fn a_message_at_the_header_limit_still_parses_once_written_out() {
        // Seven Via values on one line become seven lines when written: with the other five
        // headers that is exactly the limit, and both forms must fit it.
        let text = String::from_utf8_lossy(OPTIONS).replace(
            "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport",
            "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b, SIP/2.0/UDP c, SIP/2.0/UDP d, SIP/2.0/UDP e, SIP/2.0/UDP f, SIP/2.0/UDP g",
        );
        let limits = Limits { max_headers: 12, ..Limits::default() };
        let message = parse_datagram(text.as_bytes(), &limits).expect("12 headers fit");
        assert_eq!(parse_datagram(&message.to_bytes(), &limits), Ok(message));
    }

    #[test]
    fn an_over_long_header_line_is_refused() {
        let limits = Limits { max_header_line_bytes: 40, ..Limits::default() };
        assert!(matches!(parse_datagram(OPTIONS, &limits), Err(ParseError::HeaderLineTooLong { .. })));
    }

    #[test]
    fn malformed_request_with_core_headers_gets_a_400_with_the_reason() {
        let bad = String::from_utf8_lossy(OPTIONS).replace("CSeq: 63104 OPTIONS", "CSeq: 63104 INVITE");
        let err = parse_datagram(bad.as_bytes(), &Limits::default()).expect_err("mismatch");
        let MalformedAnswer::Respond(resp) = answer_malformed(bad.as_bytes(), &err) else {
            panic!("a 400 is possible here");
        };
        assert_eq!(resp.status, StatusCode::BAD_REQUEST);
        assert_eq!(resp.reason, "CSeq Method Mismatch");
        assert_eq!(resp.headers.call_id(), Some("a84b4c76e66710@pc33.example.com"));
    }

    #[test]
    fn crlf_datagrams_are_keepalives() {
        assert!(is_keepalive(b"\r\n\r\n"));
        assert!(!is_keepalive(b""));
        assert!(!is_keepalive(OPTIONS));
    }

    #[test]
    fn garbage_is_dropped() {
        let err = parse_datagram(b"\x00\x01hello", &Limits::default()).expect_err("garbage");
        assert_eq!(answer_malformed(b"\x00\x01hello", &err), MalformedAnswer::Drop);
    }
}
