//! Hotline's call recordings at rest: encryption, ranged reading, legal holds and retention.
//!
//! - [`encrypt_in_place`] seals a finished WAV with the keyring's current [`RecordingKey`]
//!   (XChaCha20-Poly1305 in the STREAM construction, 64 KiB chunks, see [`format`]), atomically:
//!   temp file, fsync, rename, fsync of the folder.
//! - [`RecordingFile`] opens a recording, sealed or clear, checks its key and length, and reads
//!   any byte range by decrypting only the chunks it touches, for HTTP Range requests; or
//!   streams it whole at one chunk of memory.
//! - [`retention`]: the sweep that deletes recordings past `retention_days` unless on legal
//!   hold, and placing/releasing holds (who, when, why), each with an audit entry.
//!
//! Invariants:
//! - never returns plaintext from a chunk that did not authenticate; a changed header, a
//!   changed, swapped or reordered chunk, a truncated or extended file and a wrong key are each
//!   a distinct error, never garbage audio;
//! - never leaves a half-written file under a recording's name, and never seals a file twice;
//! - never prints a key; a file names its key by id so keys can rotate;
//! - never deletes a recording on legal hold, never more than `max_deletions_per_sweep` per
//!   sweep, and never a file outside the recordings directory; every deletion, hold and release
//!   is audited;
//! - no panic on any bytes read from disk; range reads are bounded by `max_range_bytes`.

mod file;
pub mod format;
mod keys;
pub mod retention;

pub use file::{RecordingFile, Sealed, encrypt_in_place, is_encrypted};
pub use format::NoncePrefix;
pub use keys::{Keyring, RecordingKey};
pub use retention::{Actor, RetentionPolicy, SweepReport};

/// Why a recording could not be sealed, read, held or swept. Messages are one line.
#[derive(Debug, thiserror::Error)]
pub enum RecordingsError {
    #[error("recording key: {0}")]
    BadKey(String),
    #[error("the recording is sealed with key {key_id:?}, which is not configured")]
    UnknownKey { key_id: String },
    #[error("the configured key {key_id:?} does not open this recording (wrong key, or a damaged header)")]
    WrongKey { key_id: String },
    #[error("bad recording header: {0}")]
    BadHeader(String),
    #[error("the sealed recording is {found_bytes} bytes; its header says {expected_bytes} (truncated or extended)")]
    Truncated { expected_bytes: u64, found_bytes: u64 },
    #[error("chunk {chunk} of the sealed recording does not authenticate (tampered, reordered or damaged)")]
    Tampered { chunk: u64 },
    #[error("{path} is already encrypted")]
    AlreadyEncrypted { path: String },
    #[error("a recording of {bytes} bytes is larger than the format allows")]
    TooLarge { bytes: u64 },
    #[error("the range {start}-{end} is not within the recording's {len} bytes")]
    BadRange { start: u64, end: u64, len: u64 },
    #[error("the range is {bytes} bytes; at most {max_range_bytes} are served at once")]
    RangeTooLong { bytes: u64, max_range_bytes: u64 },
    #[error("{0}")]
    BadPolicy(String),
    #[error("encryption: {0}")]
    Crypto(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}
