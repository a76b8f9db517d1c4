//! The media server's settings, validated once at start. Every limit is named with its unit.
//! Must never: accept a range, size or queue length that would make the server unbounded.

use std::net::IpAddr;
use std::path::PathBuf;

use media::ports::RtpPortRange;

use crate::error::ConfigError;

/// Settings of a [`crate::MediaServer`].
#[derive(Debug, Clone)]
pub struct MediaServerConfig {
    /// Local address every RTP/RTCP socket binds (the address written into SDP).
    pub bind: IpAddr,
    /// Inclusive RTP port range; RTP uses the even port, RTCP the odd one above it. Keep it outside
    /// the kernel's ephemeral range (Linux: 32768-60999) or other sockets will take ports from it
    /// (they are skipped and counted in `ports_busy`).
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// A leg with no RTP for this long raises `MediaTimeout`.
    pub media_timeout_ms: u64,
    /// Calls allocated at once (each holds one to three RTP/RTCP port pairs).
    pub max_calls: usize,
    /// Where recordings go; `start_recording` paths are relative to it.
    pub recordings_dir: PathBuf,
    /// Commands waiting for the media task.
    pub max_queued_commands: usize,
    /// Events waiting for the signalling layer; beyond it events are dropped and counted.
    pub max_queued_events: usize,
    /// Largest datagram read (longer ones are truncated, then rejected by the parser).
    pub max_datagram_bytes: usize,
    /// Nominal RTCP report interval per leg.
    pub rtcp_interval_ms: u64,
}

impl MediaServerConfig {
    /// Defaults for everything but where to bind, the port range and the recordings folder.
    pub fn new(bind: IpAddr, rtp_port_min: u16, rtp_port_max: u16, recordings_dir: PathBuf) -> Self {
        Self {
            bind,
            rtp_port_min,
            rtp_port_max,
            media_timeout_ms: 30_000,
            max_calls: 1_000,
            recordings_dir,
            max_queued_commands: 1_024,
            max_queued_events: 4_096,
            max_datagram_bytes: 2_048,
            rtcp_interval_ms: 5_000,
        }
    }

    /// Checks every setting; the port range is returned validated.
    pub(crate) fn validate(&self) -> Result<RtpPortRange, ConfigError> {
        let range = RtpPortRange::new(self.rtp_port_min, self.rtp_port_max)?;
        let at_least = |key: &'static str, got: u64, min: u64| {
            if got < min { Err(ConfigError::TooSmall { key, min, got }) } else { Ok(()) }
        };
        at_least("media_timeout_ms", self.media_timeout_ms, 100)?;
        at_least("max_calls", self.max_calls as u64, 1)?;
        at_least("max_queued_commands", self.max_queued_commands as u64, 1)?;
        at_least("max_queued_events", self.max_queued_events as u64, 1)?;
        at_least("max_datagram_bytes", self.max_datagram_bytes as u64, 172)?;
        at_least("rtcp_interval_ms", self.rtcp_interval_ms, 500)?;
        if !self.recordings_dir.is_absolute() {
            return Err(ConfigError::RecordingsDir(self.recordings_dir.clone()));
        }
        Ok(range)
    }
}
