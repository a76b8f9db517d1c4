//! Typed errors of the media server (`thiserror`). Must never carry packet bytes or leak a socket.

use std::path::PathBuf;

use media::bridge::LegId;
use media::error::AudioError;

use crate::CallId;

/// Why a configuration cannot start a server; each variant names the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("rtp_port_min/rtp_port_max: {0}")]
    PortRange(#[from] media::ports::BadPortRange),
    #[error("{key} must be at least {min}, got {got}")]
    TooSmall { key: &'static str, min: u64, got: u64 },
    #[error("recordings_dir {0:?} must be an absolute path")]
    RecordingsDir(PathBuf),
}

/// Why a command to the media server failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaServerError {
    #[error("no free RTP port pair in {first}-{last} (every port is allocated or bound by another process)")]
    PortsExhausted { first: u16, last: u16 },
    #[error("already {max_calls} calls (max_calls)")]
    TooManyCalls { max_calls: usize },
    #[error("no call {0}")]
    NoSuchCall(CallId),
    #[error("call {call} has no local port for its {leg:?} leg (allocate_leg first)")]
    LegNotAllocated { call: CallId, leg: LegId },
    #[error("call {call} has no {leg:?} leg yet")]
    NoLeg { call: CallId, leg: LegId },
    #[error("call {0} has no customer leg yet: add it before the other legs or media commands")]
    NoCustomerLeg(CallId),
    #[error("the customer leg of call {0} cannot be removed: close the call")]
    CustomerLegStays(CallId),
    #[error("add_leg for the supervisor needs a monitor mode")]
    NoMonitorMode,
    #[error("recording path {0:?} must be relative, inside recordings_dir, without `..`")]
    BadRecordingPath(PathBuf),
    #[error("recording {0:?} already exists")]
    RecordingExists(PathBuf),
    #[error("call {0} is already being recorded")]
    AlreadyRecording(CallId),
    #[error("not a DTMF key: {0:?}")]
    BadDigit(char),
    #[error(transparent)]
    SendDtmf(#[from] media::bridge::SendDtmfError),
    #[error("recording: {0}")]
    Recording(#[from] AudioError),
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("the media server has stopped")]
    Stopped,
}
