//! Hotline's media server: the thin tokio UDP shell around the sans-IO engine in `media`.
//!
//! [`MediaServer::start`] spawns **one task** that owns every call's [`media::bridge::Bridge`], its
//! RTP/RTCP sockets (bound from the configured port range: RTP on the even port, RTCP on the odd
//! one above) and one timer heap fed by `Bridge::poll_timeout`. The signalling layer talks to it
//! through a cloneable [`MediaServerHandle`] (bounded command queue, one reply per command) and
//! reads [`ServerEvent`]s (DTMF, playback ended, latched, media timeout) from a bounded queue.
//!
//! The loop is the one documented on `Bridge`: datagram → `handle_packet` → drain `poll_transmit`
//! to the leg's socket and `poll_event` to the event queue; timer due → `handle_timeout` → drain.
//! Blocking file work (creating a recording, closing a call: flush + SHA-256) runs on tokio's
//! blocking pool, not on the media task (a recording's sink is a shared slot, so stopping one
//! mid-call takes the recorder out on the media task and finishes it elsewhere).
//!
//! A `MediaTimeout` event is a report, not an action: the signalling layer ends the call (BYE)
//! and calls [`MediaServerHandle::close`], keeping the reason on the contact.
//!
//! Must never: hold media logic (that is `media`'s job), await while holding a call (sends are
//! `try_send_to`; a full socket buffer drops the datagram and counts it), queue without a limit
//! (commands, events, calls and ports are all bounded), bind outside the configured range or
//! address, or keep a port after its call closed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use media::codec::Codec;
//! use media_server::{LegId, LegSpec, MediaServer, MediaServerConfig};
//!
//! let dir = std::env::temp_dir();
//! let config = MediaServerConfig::new("127.0.0.1".parse()?, 27_000, 27_099, dir);
//! let (server, _events, task) = MediaServer::start(config)?;
//! let (call, local_rtp) = server.allocate_call().await?; // goes into our SDP
//! assert_eq!(local_rtp.port() % 2, 0);
//! let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await?; // the far end, from its SDP
//! server.add_leg(call, LegId::Customer, LegSpec::new(Codec::Pcmu, phone.local_addr()?), None).await?;
//! let prompt: Arc<[i16]> = vec![1000i16; 1600].into();
//! server.play(call, LegId::Customer, vec![prompt], true).await?;
//! let mut buf = [0u8; 1500];
//! let (n, from) = phone.recv_from(&mut buf).await?; // 20 ms of prompt, µ-law
//! assert_eq!((n, from), (12 + 160, local_rtp));
//! let report = server.close(call).await?;
//! assert!(report.recording.is_none());
//! server.shutdown().await?;
//! task.await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Modules
//! | module | what |
//! |---|---|
//! | [`config`] | [`MediaServerConfig`], validated at start |
//! | [`handle`] | [`MediaServerHandle`]: the commands, [`LegSpec`] |
//! | `driver` | the media task: calls, sockets, timers |
//! | `recording` | the recording sink handed to each `Bridge`, finishable off the media task |
//! | `sockets` | binding port pairs from the range, receive futures that end when a leg closes |
//! | [`error`] | [`ConfigError`], [`MediaServerError`] |

pub mod config;
mod driver;
pub mod error;
pub mod handle;
mod recording;
mod sockets;

use std::fmt;

pub use config::MediaServerConfig;
pub use error::{ConfigError, MediaServerError};
pub use handle::{LegSpec, MediaServerHandle};
pub use media::bridge::{CloseReport, LegId, MediaEvent, MonitorMode};

/// The media server's id for a call (independent of SIP Call-IDs and contact ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "media-call-{}", self.0)
    }
}

/// A media event of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerEvent {
    pub call: CallId,
    pub event: MediaEvent,
}

/// What the media task counted over its life (returned when it stops, and by `counters`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerCounters {
    pub datagrams_received: u64,
    pub datagrams_sent: u64,
    /// `try_send_to` failed (socket buffer full, unreachable): the datagram was dropped.
    pub send_errors: u64,
    pub recv_errors: u64,
    /// Datagrams on a leg whose media is not configured yet (`add_leg` not called).
    pub datagrams_before_leg: u64,
    /// Events dropped because the event queue was full.
    pub dropped_events: u64,
    /// Ports of the range skipped because another process had bound them.
    pub ports_busy: u64,
    pub calls_allocated: u64,
    pub calls_closed: u64,
}

/// Entry point: see [`MediaServer::start`].
pub struct MediaServer;

impl MediaServer {
    /// Validates `config` and spawns the media task on the current tokio runtime. Returns the
    /// handle, the event stream and the task, which ends after [`MediaServerHandle::shutdown`] or
    /// once every handle is dropped, having closed every call (recordings finalised, ports freed).
    pub fn start(
        config: MediaServerConfig,
    ) -> Result<
        (MediaServerHandle, tokio::sync::mpsc::Receiver<ServerEvent>, tokio::task::JoinHandle<ServerCounters>),
        ConfigError,
    > {
        let range = config.validate()?;
        let (commands_tx, commands_rx) = tokio::sync::mpsc::channel(config.max_queued_commands);
        let (events_tx, events_rx) = tokio::sync::mpsc::channel(config.max_queued_events);
        let handle = MediaServerHandle::new(commands_tx, config.recordings_dir.clone());
        let driver = driver::Driver::new(config, range, events_tx);
        let task = tokio::spawn(driver.run(commands_rx));
        Ok((handle, events_rx, task))
    }
}
