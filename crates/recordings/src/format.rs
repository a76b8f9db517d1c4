//! The encrypted recording format, pure: header encoding, key check, chunk sealing and opening.
//! No file IO here; [`crate::file`] moves the bytes.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! magic "HOTLREC\0" (8) | version 1 (1) | key id length (1) | key id (1..=64, ASCII)
//! | nonce prefix (19) | chunk bytes (4) | plaintext length (8) | key check (16)
//! | chunk 0 | chunk 1 | ... | chunk n-1          each chunk = ciphertext + 16-byte tag
//! ```
//!
//! Every chunk but the last holds exactly `chunk bytes` of plaintext; the last holds the rest
//! (at least one chunk, possibly empty, for an empty file). This is the STREAM construction
//! (Hoang, Reyhanitabar, Rogaway, Vizár) over XChaCha20-Poly1305: chunk `i` is sealed with the
//! nonce `prefix ‖ i (u32) ‖ last-flag (u8)` and the whole header as associated data, so a
//! changed header, a changed, swapped or reordered chunk, a dropped tail or an appended chunk
//! all fail authentication. The key check (a tag over the header under a nonce no chunk uses)
//! tells a wrong key from a damaged file before any chunk is read.
//!
//! Never: a nonce reused under one key for two chunks (the prefix is random per file and the
//! counter is the chunk index), a plaintext byte returned from a chunk that did not
//! authenticate, or a panic on bytes read from disk.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::RecordingsError;
use crate::keys::RecordingKey;

pub const MAGIC: [u8; 8] = *b"HOTLREC\0";
pub const VERSION: u8 = 1;
/// Plaintext bytes per chunk.
pub const CHUNK_BYTES: u32 = 64 * 1024;
/// Authentication tag bytes after each chunk.
pub const TAG_BYTES: u64 = 16;
pub const NONCE_PREFIX_BYTES: usize = 19;
pub const MAX_KEY_ID_BYTES: usize = 64;
/// Bytes of the header before the key id.
const FIXED_BEFORE_ID: usize = 8 + 1 + 1;
/// Bytes of the header after the key id.
const FIXED_AFTER_ID: usize = NONCE_PREFIX_BYTES + 4 + 8 + 16;
/// The longest header.
pub const MAX_HEADER_BYTES: usize = FIXED_BEFORE_ID + MAX_KEY_ID_BYTES + FIXED_AFTER_ID;
/// Flag byte of the key-check nonce; chunks use 0 and 1.
const KEY_CHECK_FLAG: u8 = 2;

/// The random per-file part of every chunk nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoncePrefix(pub [u8; NONCE_PREFIX_BYTES]);

impl NoncePrefix {
    /// A fresh prefix from the operating system's random source. Use a new one for every file.
    pub fn random() -> Result<Self, RecordingsError> {
        use chacha20poly1305::aead::rand_core::RngCore;
        let mut p = [0u8; NONCE_PREFIX_BYTES];
        chacha20poly1305::aead::OsRng
            .try_fill_bytes(&mut p)
            .map_err(|e| RecordingsError::Io(format!("no random bytes for a nonce: {e}")))?;
        Ok(Self(p))
    }
}

/// The parsed header of an encrypted recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key_id: String,
    pub nonce_prefix: NoncePrefix,
    pub chunk_bytes: u32,
    pub plaintext_len: u64,
    key_check: [u8; 16],
}

fn nonce(prefix: &NoncePrefix, counter: u32, flag: u8) -> XNonce {
    let mut n = [0u8; 24];
    n[..NONCE_PREFIX_BYTES].copy_from_slice(&prefix.0);
    n[NONCE_PREFIX_BYTES..NONCE_PREFIX_BYTES + 4].copy_from_slice(&counter.to_be_bytes());
    n[23] = flag;
    XNonce::from(n)
}

impl Header {
    /// The header of a new file of `plaintext_len` bytes under `key`.
    pub fn new(key: &RecordingKey, nonce_prefix: NoncePrefix, plaintext_len: u64) -> Result<Self, RecordingsError> {
        let mut h = Header {
            key_id: key.id().to_owned(),
            nonce_prefix,
            chunk_bytes: CHUNK_BYTES,
            plaintext_len,
            key_check: [0; 16],
        };
        if h.chunk_count() > u64::from(u32::MAX) {
            return Err(RecordingsError::TooLarge { bytes: plaintext_len });
        }
        h.key_check = h.compute_key_check(key)?;
        Ok(h)
    }

    fn compute_key_check(&self, key: &RecordingKey) -> Result<[u8; 16], RecordingsError> {
        let aad = self.encode_without_check();
        let tag = cipher(key)
            .encrypt(&nonce(&self.nonce_prefix, u32::MAX, KEY_CHECK_FLAG), Payload { msg: &[], aad: &aad })
            .map_err(|_| RecordingsError::Crypto("sealing the key check failed".into()))?;
        tag.try_into().map_err(|_| RecordingsError::Crypto("key check is not 16 bytes".into()))
    }

    /// Whether `key` is the one this file was sealed with.
    pub fn key_matches(&self, key: &RecordingKey) -> bool {
        self.key_id == key.id() && self.compute_key_check(key).is_ok_and(|c| c == self.key_check)
    }

    fn encode_without_check(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_HEADER_BYTES);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(u8::try_from(self.key_id.len()).unwrap_or(0));
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&self.nonce_prefix.0);
        out.extend_from_slice(&self.chunk_bytes.to_be_bytes());
        out.extend_from_slice(&self.plaintext_len.to_be_bytes());
        out
    }

    /// The header's bytes, as written at the start of the file.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_without_check();
        out.extend_from_slice(&self.key_check);
        out
    }

    /// The header's length in bytes.
    pub fn len(&self) -> u64 {
        (FIXED_BEFORE_ID + self.key_id.len() + FIXED_AFTER_ID) as u64
    }

    /// Never true: a header has fixed parts.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Reads a header from the start of a file. `bytes` may be longer than the header.
    pub fn decode(bytes: &[u8]) -> Result<Header, RecordingsError> {
        let bad = |what: &str| RecordingsError::BadHeader(what.to_owned());
        if bytes.len() < FIXED_BEFORE_ID || bytes[..8] != MAGIC {
            return Err(bad("not an encrypted Hotline recording (no HOTLREC magic)"));
        }
        if bytes[8] != VERSION {
            return Err(bad(&format!("format version {} is not supported (only {VERSION})", bytes[8])));
        }
        let id_len = usize::from(bytes[9]);
        if id_len == 0 || id_len > MAX_KEY_ID_BYTES {
            return Err(bad("key id length out of range"));
        }
        let total = FIXED_BEFORE_ID + id_len + FIXED_AFTER_ID;
        let Some(h) = bytes.get(..total) else { return Err(bad("the header is cut short")) };
        let key_id = std::str::from_utf8(&h[10..10 + id_len])
            .ok()
            .filter(|s| crate::keys::valid_key_id(s))
            .ok_or_else(|| bad("key id is not printable ASCII"))?
            .to_owned();
        let mut at = 10 + id_len;
        let mut take = |n: usize| {
            let s = &h[at..at + n];
            at += n;
            s
        };
        let mut prefix = [0u8; NONCE_PREFIX_BYTES];
        prefix.copy_from_slice(take(NONCE_PREFIX_BYTES));
        let chunk_bytes = u32::from_be_bytes(take(4).try_into().map_err(|_| bad("chunk size"))?);
        let plaintext_len = u64::from_be_bytes(take(8).try_into().map_err(|_| bad("length"))?);
        let key_check: [u8; 16] = take(16).try_into().map_err(|_| bad("key check"))?;
        if chunk_bytes == 0 || chunk_bytes > 16 * 1024 * 1024 {
            return Err(bad("chunk size out of range"));
        }
        let header = Header { key_id, nonce_prefix: NoncePrefix(prefix), chunk_bytes, plaintext_len, key_check };
        if header.chunk_count() > u64::from(u32::MAX) {
            return Err(bad("more chunks than the format allows"));
        }
        Ok(header)
    }

    /// Chunks in the file (at least one).
    pub fn chunk_count(&self) -> u64 {
        self.plaintext_len.div_ceil(u64::from(self.chunk_bytes)).max(1)
    }

    /// Plaintext bytes of chunk `i`.
    pub fn chunk_plaintext_len(&self, i: u64) -> u64 {
        let c = u64::from(self.chunk_bytes);
        self.plaintext_len.saturating_sub(i.saturating_mul(c)).min(c)
    }

    /// Where chunk `i` starts in the file, and its length there (tag included).
    pub fn chunk_location(&self, i: u64) -> (u64, u64) {
        let stride = u64::from(self.chunk_bytes) + TAG_BYTES;
        (self.len() + i * stride, self.chunk_plaintext_len(i) + TAG_BYTES)
    }

    /// The length the whole file must have.
    pub fn file_len(&self) -> u64 {
        let last = self.chunk_count() - 1;
        let (at, len) = self.chunk_location(last);
        at + len
    }

    /// Seals chunk `i` (its plaintext must be [`Header::chunk_plaintext_len`] bytes).
    pub fn seal_chunk(&self, key: &RecordingKey, i: u64, plaintext: &[u8]) -> Result<Vec<u8>, RecordingsError> {
        if plaintext.len() as u64 != self.chunk_plaintext_len(i) || i >= self.chunk_count() {
            return Err(RecordingsError::Crypto(format!("chunk {i} has the wrong length or index")));
        }
        let aad = self.encode();
        cipher(key)
            .encrypt(&self.chunk_nonce(i), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| RecordingsError::Crypto("sealing a chunk failed".into()))
    }

    /// Opens chunk `i`; [`RecordingsError::Tampered`] if it does not authenticate as chunk `i`
    /// of this file.
    pub fn open_chunk(&self, key: &RecordingKey, i: u64, sealed: &[u8]) -> Result<Vec<u8>, RecordingsError> {
        if i >= self.chunk_count() || sealed.len() as u64 != self.chunk_plaintext_len(i) + TAG_BYTES {
            return Err(RecordingsError::Tampered { chunk: i });
        }
        let aad = self.encode();
        cipher(key)
            .decrypt(&self.chunk_nonce(i), Payload { msg: sealed, aad: &aad })
            .map_err(|_| RecordingsError::Tampered { chunk: i })
    }

    fn chunk_nonce(&self, i: u64) -> XNonce {
        let last = u8::from(i + 1 == self.chunk_count());
        // chunk_count() <= u32::MAX is checked at construction and decoding.
        nonce(&self.nonce_prefix, u32::try_from(i).unwrap_or(u32::MAX), last)
    }
}

fn cipher(key: &RecordingKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, b: u8) -> RecordingKey {
        RecordingKey::new(id, [b; 32]).expect("key")
    }

    const PREFIX: NoncePrefix = NoncePrefix([7; NONCE_PREFIX_BYTES]);

    #[test]
    fn header_round_trips_and_knows_its_key() {
        let h = Header::new(&key("k2026", 1), PREFIX, 200_000).expect("header");
        let bytes = h.encode();
        assert_eq!(bytes.len() as u64, h.len());
        let back = Header::decode(&bytes).expect("decode");
        assert_eq!(back, h);
        assert!(back.key_matches(&key("k2026", 1)));
        assert!(!back.key_matches(&key("k2026", 2)));
        assert_eq!(back.chunk_count(), 4);
        assert_eq!(back.chunk_plaintext_len(3), 200_000 - 3 * 65_536);
        assert_eq!(back.file_len(), back.len() + 200_000 + 4 * 16);
    }

    #[test]
    fn empty_file_has_one_empty_chunk() {
        let h = Header::new(&key("k", 1), PREFIX, 0).expect("header");
        assert_eq!((h.chunk_count(), h.chunk_plaintext_len(0)), (1, 0));
        let sealed = h.seal_chunk(&key("k", 1), 0, &[]).expect("seal");
        assert_eq!(h.open_chunk(&key("k", 1), 0, &sealed).expect("open"), Vec::<u8>::new());
    }

    #[test]
    fn a_chunk_opens_only_at_its_own_index_under_its_own_header() {
        let k = key("k", 1);
        let h = Header::new(&k, PREFIX, 3 * 65_536).expect("header");
        let c0 = h.seal_chunk(&k, 0, &[0u8; 65_536]).expect("seal");
        assert!(h.open_chunk(&k, 0, &c0).is_ok());
        assert!(matches!(h.open_chunk(&k, 1, &c0), Err(RecordingsError::Tampered { chunk: 1 })));
        let longer = Header::new(&k, PREFIX, 4 * 65_536).expect("header");
        assert!(longer.open_chunk(&k, 0, &c0).is_err(), "the header is bound to every chunk");
        // The last chunk is sealed as last: the same bytes are not a valid middle chunk.
        let last = h.seal_chunk(&k, 2, &[0u8; 65_536]).expect("seal");
        assert!(longer.open_chunk(&k, 2, &last).is_err());
    }

    #[test]
    fn bad_headers_are_errors_not_panics() {
        let good = Header::new(&key("k", 1), PREFIX, 10).expect("header").encode();
        for cut in 0..good.len() {
            assert!(Header::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut v2 = good.clone();
        v2[8] = 2;
        assert!(Header::decode(&v2).expect_err("v2").to_string().contains("version 2"));
        let mut zero_chunk = good.clone();
        let at = 10 + 1 + NONCE_PREFIX_BYTES;
        zero_chunk[at..at + 4].copy_from_slice(&0u32.to_be_bytes());
        assert!(Header::decode(&zero_chunk).is_err());
        assert!(Header::decode(b"RIFF....WAVEfmt ").is_err());
    }

    proptest::proptest! {
        #[test]
        fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut b = bytes;
            if b.len() > 10 { b[..8].copy_from_slice(&MAGIC); b[8] = VERSION; }
            let _ = Header::decode(&b);
        }
    }
}
