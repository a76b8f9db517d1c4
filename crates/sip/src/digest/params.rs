//! The text of `WWW-Authenticate`/`Proxy-Authenticate` (challenges) and `Authorization`/
//! `Proxy-Authorization` (credentials) for the Digest scheme. Parsing returns `None` on anything
//! malformed; it never panics.

use std::fmt;

use super::Algorithm;
use crate::message::text::{read_quoted, split_outside, trim_ws, write_quoted};

/// A Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub algorithm: Algorithm,
    /// `qop="auth"` offered.
    pub qop_auth: bool,
    pub opaque: Option<String>,
    pub stale: bool,
}

/// Digest credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub cnonce: Option<String>,
    pub nc: Option<u32>,
    pub qop: Option<String>,
    pub opaque: Option<String>,
}

/// Splits `Digest a=b, c="d"` into (name, unquoted value) pairs; `None` unless the scheme is Digest.
fn digest_params(value: &str) -> Option<Vec<(String, String)>> {
    let value = trim_ws(value);
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    split_outside(rest, ',')?
        .into_iter()
        .filter(|p| !trim_ws(p).is_empty())
        .map(|p| {
            let (name, raw) = p.split_once('=')?;
            let raw = trim_ws(raw);
            let value = if raw.starts_with('"') {
                let (v, rest) = read_quoted(raw)?;
                trim_ws(rest).is_empty().then_some(v)?
            } else {
                raw.to_owned()
            };
            Some((trim_ws(name).to_ascii_lowercase(), value))
        })
        .collect()
}

fn find<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

impl Challenge {
    pub fn parse(value: &str) -> Option<Challenge> {
        let p = digest_params(value)?;
        Some(Challenge {
            realm: find(&p, "realm")?.to_owned(),
            nonce: find(&p, "nonce")?.to_owned(),
            algorithm: Algorithm::parse(find(&p, "algorithm"))?,
            qop_auth: find(&p, "qop").is_some_and(|q| q.split(',').any(|o| trim_ws(o).eq_ignore_ascii_case("auth"))),
            opaque: find(&p, "opaque").map(str::to_owned),
            stale: find(&p, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from("Digest realm=");
        write_quoted(&mut s, &self.realm);
        s.push_str(", nonce=");
        write_quoted(&mut s, &self.nonce);
        if let Some(o) = &self.opaque {
            s.push_str(", opaque=");
            write_quoted(&mut s, o);
        }
        s.push_str(", algorithm=");
        s.push_str(self.algorithm.as_str());
        if self.qop_auth {
            s.push_str(", qop=\"auth\"");
        }
        if self.stale {
            s.push_str(", stale=true");
        }
        f.write_str(&s)
    }
}

impl Credentials {
    pub fn parse(value: &str) -> Option<Credentials> {
        let p = digest_params(value)?;
        let nc = match find(&p, "nc") {
            Some(n) if n.len() == 8 => Some(u32::from_str_radix(n, 16).ok()?),
            Some(_) => return None,
            None => None,
        };
        Some(Credentials {
            username: find(&p, "username")?.to_owned(),
            realm: find(&p, "realm")?.to_owned(),
            nonce: find(&p, "nonce")?.to_owned(),
            uri: find(&p, "uri")?.to_owned(),
            response: find(&p, "response")?.to_owned(),
            algorithm: Algorithm::parse(find(&p, "algorithm"))?,
            cnonce: find(&p, "cnonce").map(str::to_owned),
            nc,
            qop: find(&p, "qop").map(str::to_owned),
            opaque: find(&p, "opaque").map(str::to_owned),
        })
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from("Digest username=");
        write_quoted(&mut s, &self.username);
        for (name, value) in
            [("realm", &self.realm), ("nonce", &self.nonce), ("uri", &self.uri), ("response", &self.response)]
        {
            s.push_str(", ");
            s.push_str(name);
            s.push('=');
            write_quoted(&mut s, value);
        }
        s.push_str(", algorithm=");
        s.push_str(self.algorithm.as_str());
        if let (Some(qop), Some(cnonce), Some(nc)) = (&self.qop, &self.cnonce, self.nc) {
            s.push_str(&format!(", qop={qop}, nc={nc:08x}, cnonce="));
            write_quoted(&mut s, cnonce);
        }
        if let Some(o) = &self.opaque {
            s.push_str(", opaque=");
            write_quoted(&mut s, o);
        }
        f.write_str(&s)
    }
}
