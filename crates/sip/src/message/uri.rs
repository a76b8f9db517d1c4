//! SIP and SIPS URIs (RFC 3261 §19.1), hosts (names, IPv4, bracketed IPv6) and `;name=value`
//! parameter lists.
//!
//! Escapes (`%41`) are kept as received: comparison helpers decide equality, the codec never
//! rewrites what a peer sent. Parsing never panics and refuses rather than guesses.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::text::{is_token, is_ws, trim_ws};

/// URI scheme. Non-SIP schemes (tel, im, unknown) parse so that a UAS can answer 416.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
    /// Any other scheme, lower-cased. The URI then carries its text in [`Host::Opaque`].
    Other(String),
}

/// The host part of a URI or of a Via sent-by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, kept as sent (compare with [`Host::eq_ignore_case`]).
    Name(String),
    V4(Ipv4Addr),
    /// Written `[...]` in SIP; stored without brackets.
    V6(Ipv6Addr),
    /// Everything after `scheme:` of a non-SIP URI.
    Opaque(String),
}

impl Host {
    /// Parses a hostname, IPv4 address or bracketed IPv6 reference.
    pub fn parse(s: &str) -> Option<Host> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']')?;
            return inner.parse().ok().map(Host::V6);
        }
        if s.is_empty() {
            return None;
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return s.parse().ok().map(Host::V4);
        }
        let ok = s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        let labels_ok = s.split('.').enumerate().all(|(i, l)| {
            // A trailing dot (fully qualified name) leaves one empty last label.
            (l.is_empty() && i > 0 && s.ends_with('.')) || (!l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
        });
        (ok && labels_ok).then(|| Host::Name(s.to_owned()))
    }

    /// Host equality per RFC 3261 §19.1.4: names compare case-insensitively.
    pub fn eq_ignore_case(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Name(a), Host::Name(b)) => a.eq_ignore_ascii_case(b),
            _ => self == other,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
            Host::Opaque(o) => f.write_str(o),
        }
    }
}

/// An ordered list of `;name[=value]` parameters. Names compare case-insensitively; values are
/// kept as sent (a quoted value keeps its quotes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Params(Vec<(String, Option<String>)>);

impl Params {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The value of `name`: `None` when absent, `Some(None)` when present without a value.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_deref())
    }

    /// The value of `name` when present with a value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` (replacing an existing one in place).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self.0.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses `;a=1;b` (leading `;` required for each item; LWS allowed around `;` and `=`).
    /// An empty parameter (`;;`) or a name that is not a token is refused.
    pub(crate) fn parse(s: &str) -> Option<Params> {
        let mut params = Params::new();
        let s = trim_ws(s);
        if s.is_empty() {
            return Some(params);
        }
        let rest = s.strip_prefix(';')?;
        for item in super::text::split_outside(rest, ';')? {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (trim_ws(n), Some(trim_ws(v))),
                None => (trim_ws(item), None),
            };
            if !is_token(name) {
                return None;
            }
            if let Some(v) = value
                && !param_value_ok(v)
            {
                return None;
            }
            params.0.push((name.to_owned(), value.map(str::to_owned)));
        }
        Some(params)
    }

    pub(crate) fn write(&self, out: &mut String) {
        for (n, v) in &self.0 {
            out.push(';');
            out.push_str(n);
            if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        }
    }
}

/// `gen-value = token / host / quoted-string` (lenient: any non-empty run without LWS, or quoted).
fn param_value_ok(v: &str) -> bool {
    if v.starts_with('"') {
        return super::text::read_quoted(v).is_some_and(|(_, rest)| rest.is_empty());
    }
    !v.is_empty() && !v.chars().any(|c| is_ws(c) || c.is_control() || matches!(c, '"' | '<' | '>' | ',' | ';'))
}

/// A SIP/SIPS URI, or an opaque URI of another scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uri {
    pub scheme: Scheme,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
    /// `?name=value&...` headers; never allowed in a Request-URI.
    pub headers: Vec<(String, String)>,
}

impl Uri {
    /// A plain `sip:user@host` URI.
    pub fn sip(user: Option<&str>, host: Host, port: Option<u16>) -> Uri {
        Uri {
            scheme: Scheme::Sip,
            user: user.map(str::to_owned),
            password: None,
            host,
            port,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    /// Parses a URI. SIP/SIPS URIs are checked against RFC 3261 §25.1; other schemes are kept opaque.
    pub fn parse(s: &str) -> Option<Uri> {
        let (scheme, rest) = s.split_once(':')?;
        let mut chars = scheme.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
            return None;
        }
        if rest.is_empty() || rest.bytes().any(|b| b.is_ascii_control() || b == b' ' || !b.is_ascii()) {
            return None;
        }
        let scheme = if scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else {
            return Some(Uri {
                scheme: Scheme::Other(scheme.to_ascii_lowercase()),
                user: None,
                password: None,
                host: Host::Opaque(rest.to_owned()),
                port: None,
                params: Params::new(),
                headers: Vec::new(),
            });
        };
        Self::parse_sip(scheme, rest)
    }

    fn parse_sip(scheme: Scheme, rest: &str) -> Option<Uri> {
        let (userinfo, hostpart) = match rest.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, pass) = match u.split_once(':') {
                    Some((a, b)) => (a, Some(b)),
                    None => (u, None),
                };
                if user.is_empty()
                    || !user.bytes().all(is_user_char)
                    || !pass.is_none_or(|p| p.bytes().all(is_password_char))
                {
                    return None;
                }
                (Some(user.to_owned()), pass.map(str::to_owned))
            }
        };
        let (before_headers, headers) = match hostpart.split_once('?') {
            Some((a, h)) => (a, Some(h)),
            None => (hostpart, None),
        };
        let (hostport, params) = match before_headers.find(';') {
            Some(i) => (&before_headers[..i], &before_headers[i..]),
            None => (before_headers, ""),
        };
        let (host, port) = split_host_port(hostport)?;
        let params = Params::parse(params)?;
        if params.iter().any(|(n, v)| !n.bytes().all(is_param_char) || !v.is_none_or(|v| v.bytes().all(is_param_char)))
        {
            return None;
        }
        let headers = match headers {
            None => Vec::new(),
            Some(h) => parse_uri_headers(h)?,
        };
        Some(Uri { scheme, user, password, host, port, params, headers })
    }

    /// True for `sip:` and `sips:` URIs.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// A comparable key for bindings: scheme, user, lower-cased host, port and the `transport`
    /// parameter. Coarser than RFC 3261 §19.1.4 but never merges two different contacts of one phone.
    pub fn binding_key(&self) -> String {
        let host = match &self.host {
            Host::Name(n) => n.to_ascii_lowercase(),
            other => other.to_string(),
        };
        let transport = self.params.value("transport").map(str::to_ascii_lowercase).unwrap_or_default();
        format!(
            "{:?}|{}|{}|{}|{}",
            self.scheme,
            self.user.as_deref().unwrap_or(""),
            host,
            self.port.unwrap_or(0),
            transport
        )
    }
}

fn split_host_port(s: &str) -> Option<(Host, Option<u16>)> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')?;
        let (h, rest) = s.split_at(end + 1);
        match rest {
            "" => (h, None),
            _ => (h, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    Some((Host::parse(host)?, port))
}

pub(crate) fn parse_sent_by(s: &str) -> Option<(Host, Option<u16>)> {
    split_host_port(s)
}

fn parse_uri_headers(s: &str) -> Option<Vec<(String, String)>> {
    s.split('&')
        .map(|h| {
            let (n, v) = h.split_once('=')?;
            let ok = |t: &str| t.bytes().all(|c| is_unreserved(c) || b"%[]/?:+$".contains(&c));
            (!n.is_empty() && ok(n) && ok(v)).then(|| (n.to_owned(), v.to_owned()))
        })
        .collect()
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')')
}

fn is_user_char(c: u8) -> bool {
    is_unreserved(c) || matches!(c, b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

fn is_password_char(c: u8) -> bool {
    is_unreserved(c) || matches!(c, b'%' | b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_param_char(c: u8) -> bool {
    is_unreserved(c) || matches!(c, b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        match &self.scheme {
            Scheme::Sip => out.push_str("sip:"),
            Scheme::Sips => out.push_str("sips:"),
            Scheme::Other(s) => {
                out.push_str(s);
                out.push(':');
            }
        }
        if let Some(user) = &self.user {
            out.push_str(user);
            if let Some(p) = &self.password {
                out.push(':');
                out.push_str(p);
            }
            out.push('@');
        }
        out.push_str(&self.host.to_string());
        if let Some(port) = self.port {
            out.push(':');
            out.push_str(&port.to_string());
        }
        self.params.write(&mut out);
        for (i, (n, v)) in self.headers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(n);
            out.push('=');
            out.push_str(v);
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_password_host_port_params_and_headers() {
        let uri = Uri::parse("sip:alice:secret@example.com:5070;transport=tcp;lr?subject=hi").expect("valid uri");
        assert_eq!(uri.user.as_deref(), Some("alice"));
        assert_eq!(uri.password.as_deref(), Some("secret"));
        assert_eq!(uri.port, Some(5070));
        assert_eq!(uri.params.value("TRANSPORT"), Some("tcp"));
        assert!(uri.params.contains("lr"));
        assert_eq!(uri.headers, vec![("subject".to_owned(), "hi".to_owned())]);
        assert_eq!(uri.to_string(), "sip:alice:secret@example.com:5070;transport=tcp;lr?subject=hi");
    }

    #[test]
    fn parses_ipv6_reference_with_port() {
        let uri = Uri::parse("sip:bob@[2001:db8::10]:5060").expect("valid uri");
        assert_eq!(uri.host, Host::V6("2001:db8::10".parse().expect("literal")));
        assert_eq!(uri.port, Some(5060));
        assert_eq!(uri.to_string(), "sip:bob@[2001:db8::10]:5060");
    }

    #[test]
    fn refuses_unbracketed_ipv6_and_bad_ports() {
        assert!(Uri::parse("sip:bob@2001:db8::10").is_none());
        assert!(Uri::parse("sip:bob@example.com:99999").is_none());
        assert!(Uri::parse("sip:bob@[::1").is_none());
        assert!(Uri::parse("<sip:bob@example.com>").is_none());
    }

    #[test]
    fn unknown_scheme_is_kept_opaque() {
        let uri = Uri::parse("nobodyKnowsThisScheme:totallyopaquecontent").expect("opaque uri");
        assert_eq!(uri.scheme, Scheme::Other("nobodyknowsthisscheme".into()));
        assert!(!uri.is_sip());
    }
}
