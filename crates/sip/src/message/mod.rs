//! The SIP message codec (RFC 3261 §7, §20, §25): requests and responses, parsed from a datagram
//! or framed out of a stream, and written back to bytes.
//!
//! Invariants: parsing never panics and never reads past the limits in [`Limits`]; a message that
//! parses has exactly one From, To, Call-ID and CSeq that parse, at least one Via that parses,
//! and a CSeq method equal to the request method. Content-Length is never stored: writing derives
//! it from the body. No IO happens here.

mod header;
mod parse;
pub(crate) mod text;
mod uri;
mod values;

pub use header::{Header, HeaderName, Headers};
pub use parse::{
    Limits, MalformedAnswer, ParseError, StreamFrame, answer_malformed, frame_stream, is_keepalive, parse_datagram,
    parse_stream_message,
};
pub use uri::{Host, Params, Scheme, Uri};
pub use values::{BRANCH_MAGIC_COOKIE, CSeq, Contact, Method, NameAddr, StatusCode, Transport, Via, branch_from};

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: StatusCode,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// Either kind of message, as it comes off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

impl Headers {
    /// All Via values, top first.
    pub fn via(&self) -> Option<Vec<Via>> {
        self.get_all(&HeaderName::Via).map(Via::parse).collect()
    }

    pub fn top_via(&self) -> Option<Via> {
        self.get(&HeaderName::Via).and_then(Via::parse)
    }

    pub fn from(&self) -> Option<NameAddr> {
        self.get(&HeaderName::From).and_then(NameAddr::parse)
    }

    pub fn to(&self) -> Option<NameAddr> {
        self.get(&HeaderName::To).and_then(NameAddr::parse)
    }

    pub fn call_id(&self) -> Option<&str> {
        self.get(&HeaderName::CallId)
    }

    pub fn cseq(&self) -> Option<CSeq> {
        self.get(&HeaderName::CSeq).and_then(CSeq::parse)
    }

    /// Max-Forwards when present and valid (0..=255).
    pub fn max_forwards(&self) -> Option<u8> {
        self.get(&HeaderName::MaxForwards)
            .and_then(|v| text::parse_u32(text::trim_ws(v)))
            .and_then(|n| u8::try_from(n).ok())
    }

    /// The Expires header in seconds (saturating at 2**32-1, RFC 3261 §20.19).
    pub fn expires(&self) -> Option<u32> {
        self.get(&HeaderName::Expires).and_then(|v| text::parse_u32_saturating(text::trim_ws(v)))
    }

    /// All Contact values; `None` if any of them does not parse.
    pub fn contacts(&self) -> Option<Vec<Contact>> {
        self.get_all(&HeaderName::Contact).map(Contact::parse).collect()
    }

    /// Route or Record-Route entries.
    pub fn routes(&self, name: &HeaderName) -> Option<Vec<NameAddr>> {
        self.get_all(name).map(NameAddr::parse).collect()
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request { method, uri, headers: Headers::new(), body: Vec::new() }
    }

    /// Writes the request with a Content-Length that matches the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} SIP/2.0\r\n", self.method, self.uri);
        write_headers(&mut out, &self.headers, self.body.len());
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// A response to this request per RFC 3261 §8.2.6.1: Via, From, To, Call-ID and CSeq copied,
    /// and Record-Route too when the response can establish a dialog (101–299, §12.1.1).
    /// A To tag is added when `to_tag` is given and the To has none.
    pub fn response(&self, status: StatusCode, to_tag: Option<&str>) -> Response {
        let mut headers = Headers::new();
        let dialog_forming = (101..300).contains(&status.as_u16());
        for h in self.headers.iter() {
            let copy = matches!(
                h.name,
                HeaderName::Via | HeaderName::From | HeaderName::To | HeaderName::CallId | HeaderName::CSeq
            ) || (dialog_forming && h.name == HeaderName::RecordRoute);
            if !copy {
                continue;
            }
            match (&h.name, to_tag, NameAddr::parse(&h.value)) {
                (HeaderName::To, Some(tag), Some(mut to)) if to.tag().is_none() && status.as_u16() > 100 => {
                    to.set_tag(tag);
                    headers.push(HeaderName::To, to.to_string());
                }
                _ => headers.push(h.name.clone(), h.value.clone()),
            }
        }
        Response { status, reason: status.default_reason().to_owned(), headers, body: Vec::new() }
    }
}

impl Response {
    /// Writes the response with a Content-Length that matches the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let reason: String = self.reason.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let mut out = format!("SIP/2.0 {} {}\r\n", self.status, reason);
        write_headers(&mut out, &self.headers, self.body.len());
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn write_headers(out: &mut String, headers: &Headers, body_len: usize) {
    for h in headers.iter() {
        if h.name == HeaderName::ContentLength {
            continue;
        }
        out.push_str(h.name.as_str());
        out.push_str(": ");
        out.push_str(&h.value);
        out.push_str("\r\n");
    }
    out.push_str("Content-Length: ");
    out.push_str(&body_len.to_string());
    out.push_str("\r\n\r\n");
}
