//! Typed errors of the media crate, one enum per concern. Must never carry borrowed packet bytes
//! (errors outlive the datagram) nor be used for control flow on the hot path beyond a counter.

use thiserror::Error;

/// Why an RTP datagram could not be parsed or written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtpError {
    #[error("packet truncated: needed {needed} bytes, got {got}")]
    Truncated { needed: usize, got: usize },
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("padding count {count} does not fit the {available} bytes after the header")]
    BadPadding { count: u8, available: usize },
    #[error("payload type {0} is not 0..=127")]
    BadPayloadType(u8),
    #[error("extension body of {0} bytes is not a whole number of 32-bit words (max 65535 words)")]
    BadExtensionLength(usize),
    #[error("packet of {bytes} bytes is over the {max}-byte limit")]
    TooLarge { bytes: usize, max: usize },
}

/// Why an RTCP compound packet could not be parsed or written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtcpError {
    #[error("RTCP packet truncated: needed {needed} bytes, got {got}")]
    Truncated { needed: usize, got: usize },
    #[error("RTCP version {0}, expected 2")]
    BadVersion(u8),
    #[error("RTCP padding is invalid")]
    BadPadding,
    #[error("RTCP packet type {packet_type} has a body that does not match its count {count}")]
    BadCount { packet_type: u8, count: u8 },
    #[error("compound packet has more than {max} packets")]
    TooManyPackets { max: usize },
    #[error("empty compound packet")]
    Empty,
    #[error("{what} has {got} entries, at most {max} fit")]
    TooManyEntries { what: &'static str, got: usize, max: usize },
    #[error("opaque RTCP body of {0} bytes is not a whole number of 32-bit words")]
    Unaligned(usize),
    #[error("SDES item of {0} bytes is over 255")]
    ItemTooLong(usize),
}

/// Why a telephone-event payload could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DtmfError {
    #[error("telephone-event payload of {0} bytes, expected at least 4")]
    Truncated(usize),
}

/// Why audio could not be read, written or repaired.
#[derive(Debug, Error)]
pub enum AudioError {
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("WAV chunk {0:?} is truncated or malformed")]
    Malformed(&'static str),
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
    #[error("audio of {bytes} bytes is over the {max}-byte limit")]
    TooLarge { bytes: u64, max: u64 },
    #[error("prompt {0:?} is not in the cache")]
    UnknownPrompt(String),
    #[error("prompt cache is full ({max} prompts)")]
    CacheFull { max: usize },
    #[error("recorder is closed")]
    Closed,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
