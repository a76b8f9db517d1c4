//! SDP (RFC 4566): parse and write session descriptions, and RFC 3264 offer/answer for audio.
//!
//! The codec keeps lines it does not model (`b=`, `i=`, unknown attributes) so that what it writes
//! is what it read. It never panics on input and bounds what it keeps with
//! [`MAX_MEDIA_DESCRIPTIONS`] and [`MAX_ATTRIBUTES`]. Offer/answer lives in [`offer_answer`].

pub mod offer_answer;

use std::fmt;

use thiserror::Error;

pub use offer_answer::{
    AudioCodec, AudioPolicy, LocalMedia, Negotiated, OfferAnswerError, answer_offer, create_offer, read_answer,
};

/// Media descriptions (`m=` sections) kept from one description.
pub const MAX_MEDIA_DESCRIPTIONS: usize = 16;
/// Attribute and other lines kept at each level.
pub const MAX_ATTRIBUTES: usize = 128;

/// Why a description did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    #[error("sdp line {line} is not `x=value`")]
    BadLine { line: usize },
    #[error("sdp must start with v=0")]
    BadVersion,
    #[error("sdp has no o= line")]
    MissingOrigin,
    #[error("sdp o= line is malformed")]
    BadOrigin,
    #[error("sdp c= line is malformed")]
    BadConnection,
    #[error("sdp m= line is malformed")]
    BadMedia,
    #[error("sdp t= line is malformed")]
    BadTiming,
    #[error("sdp has more than {0} media descriptions or attributes")]
    TooMany(usize),
}

/// Media direction attribute (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn parse(s: &str) -> Option<Direction> {
        match s {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction seen from the other side (sendonly ↔ recvonly).
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction that both allows: sending only if both send, and so on.
    pub fn intersect(self, other: Direction) -> Direction {
        match (self.sends() && other.sends(), self.receives() && other.receives()) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// `c=IN IP4 192.0.2.1` (address kept as text: it may be a name or a multicast spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub address_type: String,
    pub address: String,
}

impl Connection {
    pub fn from_ip(ip: std::net::IpAddr) -> Connection {
        let address_type = if ip.is_ipv4() { "IP4" } else { "IP6" };
        Connection { address_type: address_type.into(), address: ip.to_string() }
    }

    fn parse(v: &str) -> Result<Connection, SdpError> {
        let mut it = v.split_ascii_whitespace();
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some("IN"), Some(t), Some(a), None) => Ok(Connection { address_type: t.into(), address: a.into() }),
            _ => Err(SdpError::BadConnection),
        }
    }

    /// The address as an IP, when it is one (`0.0.0.0` included: RFC 2543 hold).
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.address.split('/').next().and_then(|a| a.parse().ok())
    }
}

/// `o=<username> <sess-id> <sess-version> IN <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: u64,
    pub session_version: u64,
    pub connection: Connection,
}

/// An `a=name[:value]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: String,
    pub port: u16,
    pub port_count: Option<u16>,
    pub protocol: String,
    pub formats: Vec<String>,
    pub connection: Option<Connection>,
    pub attributes: Vec<Attribute>,
    /// Lines other than c= and a= (i=, b=, k=), in order, as (type, value).
    pub other: Vec<(char, String)>,
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    pub connection: Option<Connection>,
    /// `t=<start> <stop>`; `(0, 0)` for a permanent session.
    pub timing: (u64, u64),
    pub attributes: Vec<Attribute>,
    /// Session-level lines other than v, o, s, c, t, a (i=, u=, e=, p=, b=, z=, k=, r=).
    pub other: Vec<(char, String)>,
    pub media: Vec<MediaDescription>,
}

/// An `a=rtpmap:<pt> <name>/<clock>[/<channels>]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

impl MediaDescription {
    /// The value of the first attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name)).and_then(|a| a.value.as_deref())
    }

    /// Direction given on this media, if any.
    pub fn own_direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|a| a.value.is_none().then(|| Direction::parse(&a.name)).flatten())
    }

    /// All valid rtpmap attributes.
    pub fn rtpmaps(&self) -> Vec<RtpMap> {
        self.attributes
            .iter()
            .filter(|a| a.name.eq_ignore_ascii_case("rtpmap"))
            .filter_map(|a| parse_rtpmap(a.value.as_deref()?))
            .collect()
    }

    /// The fmtp parameters for a payload type.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.attributes.iter().filter(|a| a.name.eq_ignore_ascii_case("fmtp")).find_map(|a| {
            let (pt, params) = a.value.as_deref()?.split_once(' ')?;
            (pt.parse::<u8>().ok()? == payload_type).then_some(params.trim())
        })
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime_ms(&self) -> Option<u32> {
        self.attribute("ptime").and_then(|p| p.trim().parse().ok())
    }
}

fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, rest) = v.split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?.to_owned();
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    Some(RtpMap { payload_type: pt.parse().ok()?, encoding, clock_rate, channels })
}

impl SessionDescription {
    /// Direction of a media section: its own attribute, else the session's, else sendrecv.
    pub fn direction_of(&self, media: &MediaDescription) -> Direction {
        media
            .own_direction()
            .or_else(|| {
                self.attributes.iter().find_map(|a| a.value.is_none().then(|| Direction::parse(&a.name)).flatten())
            })
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection that applies to a media section (its own, else the session's).
    pub fn connection_of<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// Parses a description; CRLF or bare LF line ends.
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        let mut lines =
            text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(|l| !l.is_empty()).enumerate();
        match lines.next() {
            Some((_, "v=0")) => {}
            _ => return Err(SdpError::BadVersion),
        }
        let mut origin = None;
        let mut sd = SessionDescription {
            origin: Origin {
                username: String::new(),
                session_id: 0,
                session_version: 0,
                connection: Connection { address_type: "IP4".into(), address: String::new() },
            },
            session_name: "-".into(),
            connection: None,
            timing: (0, 0),
            attributes: Vec::new(),
            other: Vec::new(),
            media: Vec::new(),
        };
        for (n, line) in lines {
            let (kind, value) = split_line(line).ok_or(SdpError::BadLine { line: n + 1 })?;
            if kind == 'm' {
                if sd.media.len() >= MAX_MEDIA_DESCRIPTIONS {
                    return Err(SdpError::TooMany(MAX_MEDIA_DESCRIPTIONS));
                }
                sd.media.push(parse_media(value)?);
                continue;
            }
            if let Some(m) = sd.media.last_mut() {
                apply_media_line(m, kind, value)?;
                continue;
            }
            match kind {
                'o' => origin = Some(parse_origin(value)?),
                's' => sd.session_name = value.to_owned(),
                'c' => sd.connection = Some(Connection::parse(value)?),
                't' => sd.timing = parse_timing(value)?,
                'a' => push_bounded(&mut sd.attributes, parse_attribute(value))?,
                other => push_bounded(&mut sd.other, (other, value.to_owned()))?,
            }
        }
        sd.origin = origin.ok_or(SdpError::MissingOrigin)?;
        // Keep other lines in the order RFC 4566 §5 writes them, so writing is the identity.
        sd.other.sort_by_key(|(k, _)| session_line_rank(*k));
        for m in &mut sd.media {
            m.other.sort_by_key(|(k, _)| *k != 'i');
        }
        Ok(sd)
    }
}

/// Where a session-level line goes among the lines kept in `other`: i/u/e/p before c, b after it,
/// the rest (z, k, r...) after t.
fn session_line_rank(kind: char) -> u8 {
    match kind {
        'i' | 'u' | 'e' | 'p' => 0,
        'b' => 1,
        _ => 2,
    }
}

fn apply_media_line(m: &mut MediaDescription, kind: char, value: &str) -> Result<(), SdpError> {
    match kind {
        'c' => m.connection = Some(Connection::parse(value)?),
        'a' => push_bounded(&mut m.attributes, parse_attribute(value))?,
        other => push_bounded(&mut m.other, (other, value.to_owned()))?,
    }
    Ok(())
}

fn push_bounded<T>(list: &mut Vec<T>, item: T) -> Result<(), SdpError> {
    if list.len() >= MAX_ATTRIBUTES {
        return Err(SdpError::TooMany(MAX_ATTRIBUTES));
    }
    list.push(item);
    Ok(())
}

fn split_line(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let kind = chars.next().filter(|c| c.is_ascii_lowercase())?;
    let value = chars.as_str().strip_prefix('=')?;
    Some((kind, value))
}

fn parse_origin(v: &str) -> Result<Origin, SdpError> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    let [user, id, version, net, addr_type, addr] = f[..] else { return Err(SdpError::BadOrigin) };
    if net != "IN" {
        return Err(SdpError::BadOrigin);
    }
    Ok(Origin {
        username: user.into(),
        session_id: id.parse().map_err(|_| SdpError::BadOrigin)?,
        session_version: version.parse().map_err(|_| SdpError::BadOrigin)?,
        connection: Connection { address_type: addr_type.into(), address: addr.into() },
    })
}

fn parse_timing(v: &str) -> Result<(u64, u64), SdpError> {
    let mut it = v.split_ascii_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b)), None) => Ok((a, b)),
        _ => Err(SdpError::BadTiming),
    }
}

fn parse_attribute(v: &str) -> Attribute {
    match v.split_once(':') {
        Some((n, val)) => Attribute { name: n.to_owned(), value: Some(val.to_owned()) },
        None => Attribute { name: v.to_owned(), value: None },
    }
}

fn parse_media(v: &str) -> Result<MediaDescription, SdpError> {
    let mut it = v.split_ascii_whitespace();
    let media = it.next().ok_or(SdpError::BadMedia)?.to_owned();
    let ports = it.next().ok_or(SdpError::BadMedia)?;
    let (port, port_count) = match ports.split_once('/') {
        Some((p, c)) => (p, Some(c.parse().map_err(|_| SdpError::BadMedia)?)),
        None => (ports, None),
    };
    let protocol = it.next().ok_or(SdpError::BadMedia)?.to_owned();
    let formats: Vec<String> = it.map(str::to_owned).collect();
    if formats.is_empty() || formats.len() > MAX_ATTRIBUTES {
        return Err(SdpError::BadMedia);
    }
    Ok(MediaDescription {
        media,
        port: port.parse().map_err(|_| SdpError::BadMedia)?,
        port_count,
        protocol,
        formats,
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

fn write_attributes(f: &mut fmt::Formatter<'_>, attributes: &[Attribute]) -> fmt::Result {
    for a in attributes {
        match &a.value {
            Some(v) => write!(f, "a={}:{}\r\n", a.name, v)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", self.address_type, self.address)
    }
}

impl fmt::Display for SessionDescription {
    /// Writes the description with CRLF line ends, in RFC 4566 §5 order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} {}\r\ns={}\r\n",
            o.username, o.session_id, o.session_version, o.connection, self.session_name
        )?;
        for (k, v) in self.other.iter().filter(|(k, _)| matches!(k, 'i' | 'u' | 'e' | 'p')) {
            write!(f, "{k}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for (k, v) in self.other.iter().filter(|(k, _)| *k == 'b') {
            write!(f, "{k}={v}\r\n")?;
        }
        write!(f, "t={} {}\r\n", self.timing.0, self.timing.1)?;
        for (k, v) in self.other.iter().filter(|(k, _)| !matches!(k, 'i' | 'u' | 'e' | 'p' | 'b')) {
            write!(f, "{k}={v}\r\n")?;
        }
        write_attributes(f, &self.attributes)?;
        for m in &self.media {
            match m.port_count {
                Some(c) => write!(f, "m={} {}/{} {}", m.media, m.port, c, m.protocol)?,
                None => write!(f, "m={} {} {}", m.media, m.port, m.protocol)?,
            }
            for fmt_ in &m.formats {
                write!(f, " {fmt_}")?;
            }
            f.write_str("\r\n")?;
            for (k, v) in m.other.iter().filter(|(k, _)| *k == 'i') {
                write!(f, "{k}={v}\r\n")?;
            }
            if let Some(c) = &m.connection {
                write!(f, "c={c}\r\n")?;
            }
            for (k, v) in m.other.iter().filter(|(k, _)| *k != 'i') {
                write!(f, "{k}={v}\r\n")?;
            }
            write_attributes(f, &m.attributes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
