//! HTTP Digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760): MD5, SHA-256 and SHA-512-256, qop=auth.
//!
//! Server side: [`DigestServer`] issues stateless nonces (an HMAC-SHA-256 of the issue time and a
//! caller-supplied salt under a server secret), verifies credentials, answers expired nonces with
//! `stale=true`, and refuses replays by tracking nonce-counts in a bounded map. Unknown users get
//! exactly the same answer as wrong passwords. Client side: [`respond`] answers a 401/407
//! challenge for trunk registration.
//!
//! No clock and no randomness here: time and salts/cnonces come in. Never panics on header text.

mod params;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use md5::Md5;
use model::Timestamp;
use sha2::{Digest, Sha256};

use crate::message::Method;
pub use params::{Challenge, Credentials};

/// Digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
    /// SHA-512/256 (RFC 8760 §2.1). Not offered by default: few phones speak it.
    Sha512_256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512_256 => "SHA-512-256",
        }
    }

    /// Parses the `algorithm` parameter; absent means MD5 (RFC 2617 §3.2.1).
    pub fn parse(s: Option<&str>) -> Option<Algorithm> {
        match s {
            None => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            Some(a) if a.eq_ignore_ascii_case("SHA-512-256") => Some(Algorithm::Sha512_256),
            Some(_) => None,
        }
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => to_hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
            Algorithm::Sha512_256 => to_hex(&sha2::Sha512_256::digest(data.as_bytes())),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// HMAC-SHA-256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HA1 = H(username:realm:password).
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hex(&format!("{username}:{realm}:{password}"))
}

/// The `response` value for qop=auth (or RFC 2069 style when `qop` is `None`).
pub fn response_value(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<(&str, u32)>,
) -> String {
    let ha2 = algorithm.hex(&format!("{method}:{uri}"));
    match qop {
        Some((cnonce, nc)) => algorithm.hex(&format!("{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")),
        None => algorithm.hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// What the store knows about a user's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSecret {
    Password(String),
    /// Precomputed HA1 values for this realm, so no plaintext password is stored.
    Ha1 {
        md5: Option<String>,
        sha256: Option<String>,
    },
}

impl UserSecret {
    fn ha1(&self, algorithm: Algorithm, username: &str, realm: &str) -> Option<String> {
        match (self, algorithm) {
            (UserSecret::Password(p), a) => Some(ha1(a, username, realm, p)),
            (UserSecret::Ha1 { md5, .. }, Algorithm::Md5) => md5.clone(),
            (UserSecret::Ha1 { sha256, .. }, Algorithm::Sha256) => sha256.clone(),
            (UserSecret::Ha1 { .. }, Algorithm::Sha512_256) => None,
        }
    }
}

/// Server configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestServerConfig {
    pub realm: String,
    /// Key of the nonce HMAC. Keep it secret and stable across restarts.
    pub secret: Vec<u8>,
    /// How long a nonce is accepted; after that the answer is a challenge with `stale=true`.
    pub nonce_ttl_ms: u64,
    /// Challenges offered, in preference order (RFC 8760 §2.4: SHA-256 before MD5).
    pub algorithms: Vec<Algorithm>,
    /// Nonces whose nonce-count is tracked for replay protection.
    pub max_tracked_nonces: usize,
}

impl DigestServerConfig {
    pub fn new(realm: &str, secret: &[u8]) -> DigestServerConfig {
        DigestServerConfig {
            realm: realm.to_owned(),
            secret: secret.to_vec(),
            nonce_ttl_ms: 300_000,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            max_tracked_nonces: 100_000,
        }
    }
}

/// The result of checking credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Authenticated {
        username: String,
    },
    /// Answer 401/407 with [`DigestServer::challenges`]; `stale` goes into the challenge.
    Challenge {
        stale: bool,
    },
    /// The credentials are malformed or for another URI: answer 400.
    BadRequest,
}

/// Server side: challenges and verification with replay protection.
#[derive(Debug)]
pub struct DigestServer {
    config: DigestServerConfig,
    /// nonce → highest nonce-count seen.
    seen: HashMap<String, u32>,
    /// Nonces issued at or before this time are refused as stale: their replay state was evicted.
    evicted_up_to_ms: i64,
}

const NONCE_MAC_BYTES: usize = 16;

impl DigestServer {
    pub fn new(config: DigestServerConfig) -> DigestServer {
        DigestServer { config, seen: HashMap::new(), evicted_up_to_ms: i64::MIN }
    }

    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// A nonce: hex of issue time and salt, followed by a truncated HMAC of both.
    pub fn nonce(&self, now: Timestamp, salt: u64) -> String {
        let body = format!("{:016x}{:016x}", now.unix_ms(), salt);
        let mac = hmac_sha256(&self.config.secret, body.as_bytes());
        format!("{body}{}", to_hex(&mac[..NONCE_MAC_BYTES]))
    }

    /// The issue time of a nonce we made, or `None` if it is not ours.
    fn nonce_issued_ms(&self, nonce: &str) -> Option<i64> {
        let body = nonce.get(..32)?;
        let mac = hmac_sha256(&self.config.secret, body.as_bytes());
        let expected = to_hex(&mac[..NONCE_MAC_BYTES]);
        if !constant_time_eq(expected.as_bytes(), nonce.get(32..)?.as_bytes()) {
            return None;
        }
        u64::from_str_radix(body.get(..16)?, 16).ok().and_then(|t| i64::try_from(t).ok())
    }

    /// One challenge per configured algorithm, all with the same fresh nonce.
    pub fn challenges(&self, now: Timestamp, salt: u64, stale: bool) -> Vec<Challenge> {
        let nonce = self.nonce(now, salt);
        self.config
            .algorithms
            .iter()
            .map(|a| Challenge {
                realm: self.config.realm.clone(),
                nonce: nonce.clone(),
                algorithm: *a,
                qop_auth: true,
                opaque: None,
                stale,
            })
            .collect()
    }

    /// Checks an Authorization value for `method` on `request_uri`. `secret_for` looks the user up;
    /// an unknown user is checked against a dummy secret so the answer and the work are the same
    /// as for a wrong password.
    pub fn verify(
        &mut self,
        now: Timestamp,
        method: &Method,
        request_uri: &str,
        authorization: &str,
        secret_for: impl FnOnce(&str) -> Option<UserSecret>,
    ) -> Verdict {
        let Some(creds) = Credentials::parse(authorization) else { return Verdict::BadRequest };
        if !same_uri(&creds.uri, request_uri) {
            return Verdict::BadRequest;
        }
        if creds.realm != self.config.realm || !self.config.algorithms.contains(&creds.algorithm) {
            return Verdict::Challenge { stale: false };
        }
        let Some(issued_ms) = self.nonce_issued_ms(&creds.nonce) else { return Verdict::Challenge { stale: false } };
        let known = secret_for(&creds.username);
        let secret = known.clone().unwrap_or_else(|| UserSecret::Password("\u{0}unknown-user".into()));
        let ha1 = secret.ha1(creds.algorithm, &creds.username, &self.config.realm).unwrap_or_default();
        let qop = match (&creds.qop, &creds.cnonce, creds.nc) {
            (Some(q), Some(c), Some(nc)) if q == "auth" => Some((c.as_str(), nc)),
            (None, _, _) => None,
            _ => return Verdict::BadRequest,
        };
        let expected = response_value(creds.algorithm, &ha1, &creds.nonce, method.as_str(), &creds.uri, qop);
        let digest_ok = constant_time_eq(expected.as_bytes(), creds.response.to_ascii_lowercase().as_bytes());
        if !digest_ok || known.is_none() || ha1.is_empty() {
            return Verdict::Challenge { stale: false };
        }
        let age_ms = now.unix_ms().saturating_sub(issued_ms);
        if age_ms < 0
            || age_ms > i64::try_from(self.config.nonce_ttl_ms).unwrap_or(i64::MAX)
            || issued_ms <= self.evicted_up_to_ms
        {
            return Verdict::Challenge { stale: true };
        }
        // Without qop there is no nonce-count: the nonce is good for one request only.
        let nc = qop.map_or(1, |(_, nc)| nc);
        if !self.record_nonce_count(now, &creds.nonce, nc) {
            return Verdict::Challenge { stale: true };
        }
        Verdict::Authenticated { username: creds.username }
    }

    /// Accepts `nc` only if it is above every count seen for `nonce` (RFC 7616 §3.4.5).
    fn record_nonce_count(&mut self, now: Timestamp, nonce: &str, nc: u32) -> bool {
        if let Some(last) = self.seen.get_mut(nonce) {
            if nc <= *last {
                return false;
            }
            *last = nc;
            return true;
        }
        if self.seen.len() >= self.config.max_tracked_nonces {
            self.evict(now);
        }
        self.seen.insert(nonce.to_owned(), nc);
        true
    }

    /// Drops expired nonces; if still full, drops the oldest half and refuses everything issued
    /// before them from now on (their counts are forgotten, so they must not be accepted again).
    fn evict(&mut self, now: Timestamp) {
        let ttl = i64::try_from(self.config.nonce_ttl_ms).unwrap_or(i64::MAX);
        let mut issued: Vec<(i64, String)> =
            self.seen.keys().map(|n| (self.nonce_issued_ms(n).unwrap_or(i64::MIN), n.clone())).collect();
        issued.retain(|(t, n)| {
            let expired = now.unix_ms().saturating_sub(*t) > ttl;
            if expired {
                self.seen.remove(n);
            }
            !expired
        });
        if self.seen.len() < self.config.max_tracked_nonces {
            return;
        }
        issued.sort();
        for (t, n) in issued.iter().take(issued.len() / 2 + 1) {
            self.seen.remove(n);
            self.evicted_up_to_ms = self.evicted_up_to_ms.max(*t);
        }
    }

    /// Nonces currently tracked (for metrics).
    pub fn tracked_nonces(&self) -> usize {
        self.seen.len()
    }
}

/// Whether the digest-uri names the Request-URI (RFC 2617 §3.2.2.5). Compared as parsed URIs, so
/// host case and IPv6 spelling do not matter; texts that do not parse must be equal.
fn same_uri(digest_uri: &str, request_uri: &str) -> bool {
    use crate::message::{Host, Uri};
    match (Uri::parse(digest_uri), Uri::parse(request_uri)) {
        (Some(a), Some(b)) => {
            let lower = |h: &Host| match h {
                Host::Name(n) => Host::Name(n.to_ascii_lowercase()),
                other => other.clone(),
            };
            Uri { host: lower(&a.host), ..a } == Uri { host: lower(&b.host), ..b }
        }
        _ => digest_uri == request_uri,
    }
}

/// Client side: the credentials answering `challenge` (for REGISTER/INVITE to a trunk). `cnonce` is
/// random from the caller; `nc` counts the requests made with this nonce, from 1.
pub fn respond(
    challenge: &Challenge,
    username: &str,
    password: &str,
    method: &Method,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Credentials {
    let ha1 = ha1(challenge.algorithm, username, &challenge.realm, password);
    let qop = challenge.qop_auth.then_some((cnonce, nc));
    Credentials {
        username: username.to_owned(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response: response_value(challenge.algorithm, &ha1, &challenge.nonce, method.as_str(), uri, qop),
        algorithm: challenge.algorithm,
        cnonce: challenge.qop_auth.then(|| cnonce.to_owned()),
        nc: challenge.qop_auth.then_some(nc),
        qop: challenge.qop_auth.then(|| "auth".to_owned()),
        opaque: challenge.opaque.clone(),
    }
}

/// The challenge a client should answer among several (RFC 8760 §2.4: the strongest it supports).
pub fn pick_challenge(challenges: &[Challenge]) -> Option<&Challenge> {
    [Algorithm::Sha512_256, Algorithm::Sha256, Algorithm::Md5]
        .iter()
        .find_map(|a| challenges.iter().find(|c| c.algorithm == *a))
}
