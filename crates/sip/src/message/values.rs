//! Typed header values: methods, status codes, name-addr (From/To/Contact/Route), Via, CSeq.
//!
//! Each type parses from the unfolded header text and writes back a canonical form. Parsing
//! returns `None` on anything RFC 3261 §25 does not allow; it never panics.

use std::fmt;

use super::text::{is_token, is_token_char, is_ws, parse_u32, read_quoted, split_outside, trim_ws, write_quoted};
use super::uri::{Host, Params, Uri, parse_sent_by};

/// A request method. Extension methods parse (RFC 3261 §27.4); answering 501 is the caller's call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Register,
    Info,
    Prack,
    Update,
    Refer,
    Notify,
    Subscribe,
    Message,
    Publish,
    /// Any other token, spelled as received (methods are case-sensitive).
    Other(String),
}

impl Method {
    /// Parses a method token. Case-sensitive, as RFC 3261 §7.1 requires.
    pub fn parse(s: &str) -> Option<Method> {
        if !is_token(s) {
            return None;
        }
        Some(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_owned()),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response status code, 100..=699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    pub const TRYING: StatusCode = StatusCode(100);
    pub const RINGING: StatusCode = StatusCode(180);
    pub const SESSION_PROGRESS: StatusCode = StatusCode(183);
    pub const OK: StatusCode = StatusCode(200);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const PROXY_AUTHENTICATION_REQUIRED: StatusCode = StatusCode(407);
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    pub const UNSUPPORTED_URI_SCHEME: StatusCode = StatusCode(416);
    pub const INTERVAL_TOO_BRIEF: StatusCode = StatusCode(423);
    pub const TEMPORARILY_UNAVAILABLE: StatusCode = StatusCode(480);
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    pub const REQUEST_TERMINATED: StatusCode = StatusCode(487);
    pub const NOT_ACCEPTABLE_HERE: StatusCode = StatusCode(488);
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    pub const VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);

    /// `None` outside 100..=699.
    pub fn new(code: u16) -> Option<StatusCode> {
        (100..=699).contains(&code).then_some(StatusCode(code))
    }

    pub fn as_u16(self) -> u16 {
        self.0
    }

    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    pub fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// The reason phrase RFC 3261 §21 suggests.
    pub fn default_reason(self) -> &'static str {
        match self.0 {
            100 => "Trying",
            180 => "Ringing",
            181 => "Call Is Being Forwarded",
            182 => "Queued",
            183 => "Session Progress",
            200 => "OK",
            202 => "Accepted",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            415 => "Unsupported Media Type",
            416 => "Unsupported URI Scheme",
            420 => "Bad Extension",
            423 => "Interval Too Brief",
            480 => "Temporarily Unavailable",
            481 => "Call/Transaction Does Not Exist",
            482 => "Loop Detected",
            483 => "Too Many Hops",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            504 => "Server Time-out",
            505 => "Version Not Supported",
            513 => "Message Too Large",
            600 => "Busy Everywhere",
            603 => "Decline",
            _ => "Unknown",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `name-addr / addr-spec` with header parameters: the value of From, To, Contact, Route...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Decoded display name (quoted-pairs resolved; tokens joined by one space).
    pub display_name: Option<String>,
    pub uri: Uri,
    /// Header parameters (after `>` or after an addr-spec): tag, expires, q...
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr { display_name: None, uri, params: Params::new() }
    }

    /// Parses RFC 3261 `name-addr` or `addr-spec` followed by `;params`.
    pub fn parse(s: &str) -> Option<NameAddr> {
        let s = trim_ws(s);
        let (display_name, rest) = if s.starts_with('"') {
            let (name, rest) = read_quoted(s)?;
            (Some(name), trim_ws(rest))
        } else if let Some(lt) = s.find('<') {
            let name = trim_ws(&s[..lt]);
            let words_ok = name.split(is_ws).filter(|w| !w.is_empty()).all(is_token);
            if !words_ok {
                return None;
            }
            let joined = name.split(is_ws).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
            ((!joined.is_empty()).then_some(joined), &s[lt..])
        } else {
            (None, s)
        };
        if let Some(inner) = rest.strip_prefix('<') {
            let end = inner.find('>')?;
            let uri = Uri::parse(&inner[..end])?;
            let params = Params::parse(&inner[end + 1..])?;
            return Some(NameAddr { display_name, uri, params });
        }
        if display_name.is_some() {
            return None;
        }
        // addr-spec form: the URI ends at the first ';' and may not carry '?' headers or ','.
        let (uri_text, params) = match rest.find(';') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let uri_text = trim_ws(uri_text);
        if uri_text.contains(['?', ',']) {
            return None;
        }
        Some(NameAddr { display_name: None, uri: Uri::parse(uri_text)?, params: Params::parse(params)? })
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if let Some(name) = &self.display_name {
            write_quoted(&mut out, name);
            out.push(' ');
        }
        out.push('<');
        out.push_str(&self.uri.to_string());
        out.push('>');
        self.params.write(&mut out);
        f.write_str(&out)
    }
}

/// A Contact value: a binding address or `*` (remove all bindings, RFC 3261 §10.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Star,
    Address(Box<NameAddr>),
}

impl Contact {
    pub fn parse(s: &str) -> Option<Contact> {
        if trim_ws(s) == "*" { Some(Contact::Star) } else { NameAddr::parse(s).map(|a| Contact::Address(Box::new(a))) }
    }
}

/// Transport named in a Via (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`...), upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transport(String);

impl Transport {
    pub fn udp() -> Transport {
        Transport("UDP".into())
    }

    pub fn tcp() -> Transport {
        Transport("TCP".into())
    }

    pub fn parse(s: &str) -> Option<Transport> {
        is_token(s).then(|| Transport(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// UDP is the only unreliable transport SIP runs over here (RFC 3261 §17: timers differ).
    pub fn is_reliable(&self) -> bool {
        self.0 != "UDP"
    }
}

/// The RFC 3261 branch magic cookie (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// A fresh RFC 3261 branch from caller-supplied randomness (at least 64 random bits advised).
pub fn branch_from(random: u64) -> String {
    format!("{BRANCH_MAGIC_COOKIE}{random:016x}")
}

/// One Via entry: `SIP/2.0/<transport> <host>[:port] ;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: Transport,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via { transport, host, port, params }
    }

    /// Parses one Via value; LWS is allowed around `/` and before parameters.
    pub fn parse(s: &str) -> Option<Via> {
        let mut parts = s.splitn(3, '/');
        let protocol = trim_ws(parts.next()?);
        let version = trim_ws(parts.next()?);
        let rest = trim_ws(parts.next()?);
        if !protocol.eq_ignore_ascii_case("SIP") || !is_token(version) {
            return None;
        }
        let transport_end = rest.find(|c: char| !is_token_char(c))?;
        let transport = Transport::parse(&rest[..transport_end])?;
        let after = trim_ws(&rest[transport_end..]);
        let (sent_by, params) = match after.find(';') {
            Some(i) => (trim_ws(&after[..i]), &after[i..]),
            None => (after, ""),
        };
        let (host, port) = parse_sent_by(sent_by)?;
        let params = Params::parse(params)?;
        Some(Via { transport, host, port, params })
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// True when the branch starts with the RFC 3261 magic cookie.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(BRANCH_MAGIC_COOKIE))
    }

    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// `Some(None)` when `rport` is present without a value (a request asking for RFC 3581).
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params.get("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// Server side of RFC 3261 §18.2.1 and RFC 3581 §4: note where the request really came from.
    pub fn stamp_source(&mut self, source_ip: std::net::IpAddr, source_port: u16) {
        let sent_by_ip = match &self.host {
            Host::V4(a) => Some(std::net::IpAddr::V4(*a)),
            Host::V6(a) => Some(std::net::IpAddr::V6(*a)),
            _ => None,
        };
        if sent_by_ip != Some(source_ip) || self.rport().is_some() {
            self.params.set("received", Some(&source_ip.to_string()));
        }
        if self.rport().is_some() {
            self.params.set("rport", Some(&source_port.to_string()));
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = format!("SIP/2.0/{} {}", self.transport.as_str(), self.host);
        if let Some(p) = self.port {
            out.push(':');
            out.push_str(&p.to_string());
        }
        self.params.write(&mut out);
        f.write_str(&out)
    }
}

/// `CSeq: <number> <method>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    /// The number must be below 2**31 (RFC 3261 §8.1.1.5); leading zeros are allowed.
    pub fn parse(s: &str) -> Option<CSeq> {
        let s = trim_ws(s);
        let split = s.find(is_ws)?;
        let seq = parse_u32(&s[..split])?;
        if seq >= 1 << 31 {
            return None;
        }
        let method = Method::parse(trim_ws(&s[split..]))?;
        Some(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Splits a list header value into its elements; `None` for an empty element or unbalanced quotes.
pub(crate) fn split_list(value: &str) -> Option<Vec<&str>> {
    let parts = split_outside(value, ',')?;
    parts.into_iter().map(|p| Some(trim_ws(p)).filter(|p| !p.is_empty())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_with_quoted_display_name_and_tag() {
        let a =
            NameAddr::parse(r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#).expect("valid");
        assert_eq!(a.display_name.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(a.tag(), Some("98asjd8"));
    }

    #[test]
    fn addr_spec_params_belong_to_the_header() {
        let a = NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").expect("valid");
        assert!(a.uri.params.is_empty());
        assert_eq!(a.tag(), Some("1918181833n"));
    }

    #[test]
    fn unquoted_display_name_with_comma_is_refused() {
        assert!(NameAddr::parse("Bell, Alexander <sip:a.g.bell@example.com>;tag=43").is_none());
    }

    #[test]
    fn via_with_lws_everywhere_parses() {
        let v = Via::parse("SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw").expect("valid");
        assert_eq!(v.transport, Transport::udp());
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_rfc3261_branch());
    }

    #[test]
    fn via_with_ipv6_sent_by_and_rport() {
        let v = Via::parse("SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKabc;rport").expect("valid");
        assert_eq!(v.port, Some(5061));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.to_string(), "SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKabc;rport");
    }

    #[test]
    fn stamping_source_fills_received_and_rport() {
        let mut v = Via::parse("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport").expect("valid");
        v.stamp_source("203.0.113.9".parse().expect("ip"), 40000);
        assert_eq!(v.received(), Some("203.0.113.9"));
        assert_eq!(v.rport(), Some(Some(40000)));
    }

    #[test]
    fn generated_branches_carry_the_magic_cookie() {
        let via = Via::new(Transport::udp(), Host::parse("192.0.2.1").expect("host"), None, &branch_from(42));
        assert!(via.has_rfc3261_branch());
        assert_ne!(branch_from(1), branch_from(2));
    }

    #[test]
    fn cseq_refuses_huge_numbers() {
        assert_eq!(CSeq::parse("0009\tINVITE").map(|c| c.seq), Some(9));
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_none());
        assert!(CSeq::parse("2147483648 INVITE").is_none());
    }
}
