//! The signalling side's view of the media server: a cloneable handle whose methods send one
//! command each over a bounded queue and await its reply. Also [`LegSpec`], what the SDP answer
//! says about a leg. Must never: touch a socket or a `Bridge` itself, or do blocking file work on
//! the caller's task (recordings are created on the blocking pool).

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use media::codec::Codec;
use media::dtmf::DtmfDigit;
use media::prompt::{Playback, PromptAudio};
use media::recorder::{RecorderConfig, RecordingInfo, StereoRecorder};
use tokio::sync::{mpsc, oneshot};

use crate::driver::{ActiveCall, Command};
use crate::recording::{self, Recording};
use crate::{CallId, CloseReport, LegId, MediaServerError, MonitorMode, ServerCounters};

type Result<T> = std::result::Result<T, MediaServerError>;

/// What the SDP offer/answer said about a remote leg.
#[derive(Debug, Clone)]
pub struct LegSpec {
    pub codec: Codec,
    /// The `c=`/`m=` address of the far end (latching may learn a better one).
    pub remote_rtp: SocketAddr,
    /// `a=rtcp:` when given; otherwise RTCP goes to RTP port + 1.
    pub remote_rtcp: Option<SocketAddr>,
    /// `a=rtcp-mux`: RTCP shares the RTP socket on both sides.
    pub rtcp_mux: bool,
    /// Payload type of `telephone-event`, if negotiated.
    pub telephone_event_pt: Option<u8>,
    /// Run the Goertzel detector (trunks without RFC 4733).
    pub inband_dtmf: bool,
    /// Latch on the first valid RTP from any IP (far end behind NAT with a private SDP address).
    pub latch_from_any_ip: bool,
}

impl LegSpec {
    /// A leg with telephone-event on payload type 101, RTCP on RTP + 1, latching from the SDP's IP.
    pub fn new(codec: Codec, remote_rtp: SocketAddr) -> Self {
        Self {
            codec,
            remote_rtp,
            remote_rtcp: None,
            rtcp_mux: false,
            telephone_event_pt: Some(101),
            inband_dtmf: false,
            latch_from_any_ip: false,
        }
    }
}

/// A media operation run on the media task against one call.
pub(crate) type CallOp = Box<dyn FnOnce(std::result::Result<&mut ActiveCall, MediaServerError>, Instant) + Send>;

/// Commands to the media server; cheap to clone.
#[derive(Clone)]
pub struct MediaServerHandle {
    commands: mpsc::Sender<Command>,
    recordings_dir: Arc<PathBuf>,
}

impl MediaServerHandle {
    pub(crate) fn new(commands: mpsc::Sender<Command>, recordings_dir: PathBuf) -> Self {
        Self { commands, recordings_dir: Arc::new(recordings_dir) }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| MediaServerError::Stopped)?;
        rx.await.map_err(|_| MediaServerError::Stopped)
    }

    async fn with_call<T: Send + 'static>(
        &self,
        call: CallId,
        f: impl FnOnce(&mut ActiveCall, Instant) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.ask(|reply| {
            let op: CallOp = Box::new(move |active, now| {
                let _ = reply.send(active.and_then(|a| f(a, now)));
            });
            Command::WithCall { call, op }
        })
        .await?
    }

    /// Reserves a call and the local RTP address of its customer leg (for the SDP we write).
    pub async fn allocate_call(&self) -> Result<(CallId, SocketAddr)> {
        self.ask(|reply| Command::Allocate { reply }).await?
    }

    /// Reserves (or re-reserves) the local RTP address of another leg of a call.
    pub async fn allocate_leg(&self, call: CallId, leg: LegId) -> Result<SocketAddr> {
        self.ask(|reply| Command::AllocateLeg { call, leg, reply }).await?
    }

    /// Configures a leg from the SDP answer. The customer leg comes first (it starts the call's
    /// media); adding it again renegotiates (re-INVITE). The agent leg hears silence until
    /// [`Self::connect`]. A supervisor needs a `monitor` mode.
    pub async fn add_leg(&self, call: CallId, leg: LegId, spec: LegSpec, monitor: Option<MonitorMode>) -> Result<()> {
        self.ask(|reply| Command::AddLeg { call, leg, spec, monitor, reply }).await?
    }

    /// A leg hung up or was transferred away: its media stops and its local ports are freed. The
    /// customer leg cannot be removed (close the call instead).
    pub async fn remove_leg(&self, call: CallId, leg: LegId) -> Result<()> {
        self.ask(|reply| Command::RemoveLeg { call, leg, reply }).await?
    }

    /// Connects the agent with the consult leg (a second agent); the customer stays as they are
    /// (on hold, normally) and is never relayed to either while the consult is on.
    pub async fn connect_consult(&self, call: CallId) -> Result<()> {
        self.with_call(call, move |a, _| {
            a.has_leg(call, LegId::Consult)?;
            a.bridge.connect_consult();
            Ok(())
        })
        .await
    }

    /// Completes an attended transfer: the consult leg becomes the agent leg (its sockets too),
    /// the first agent's media stops and its ports are freed; customer and new agent talk.
    pub async fn complete_consult(&self, call: CallId) -> Result<()> {
        self.ask(|reply| Command::CompleteConsult { call, reply }).await?
    }

    /// Switches a supervisor between listening and whispering to the agent.
    pub async fn set_monitor_mode(&self, call: CallId, mode: MonitorMode) -> Result<()> {
        self.with_call(call, move |a, _| {
            a.has_leg(call, LegId::Supervisor)?;
            a.bridge.set_monitor_mode(mode);
            Ok(())
        })
        .await
    }

    /// Whether RTP is expected from a leg: false while the far end holds us (`sendonly` /
    /// `inactive`), so its silence is not a media timeout.
    pub async fn set_expect_rtp(&self, call: CallId, leg: LegId, expect: bool) -> Result<()> {
        self.with_call(call, move |a, now| {
            a.has_leg(call, leg)?;
            a.bridge.set_expect_rtp(now, leg, expect);
            Ok(())
        })
        .await
    }

    /// A digit that came in a SIP INFO: reported (and barges in) exactly like one from RTP.
    pub async fn sip_info_dtmf(&self, call: CallId, leg: LegId, key: char, duration_ms: u32) -> Result<()> {
        let digit = DtmfDigit::from_char(key).ok_or(MediaServerError::BadDigit(key))?;
        self.with_call(call, move |a, _| {
            a.has_leg(call, leg)?;
            a.bridge.handle_sip_info_dtmf(leg, digit, duration_ms);
            Ok(())
        })
        .await
    }

    /// Customer and agent hear each other (relay, transcoding when the codecs differ).
    pub async fn connect(&self, call: CallId) -> Result<()> {
        self.with_call(call, |a, _| {
            a.bridge.connect();
            Ok(())
        })
        .await
    }

    /// Plays prompt fragments back to back to a leg; `barge_in` lets a digit stop them.
    pub async fn play(&self, call: CallId, leg: LegId, fragments: Vec<PromptAudio>, barge_in: bool) -> Result<()> {
        self.with_call(call, move |a, _| {
            a.has_leg(call, leg)?;
            a.bridge.play(leg, Playback::new(fragments, barge_in));
            Ok(())
        })
        .await
    }

    pub async fn stop_playback(&self, call: CallId, leg: LegId) -> Result<()> {
        self.with_call(call, move |a, _| {
            a.has_leg(call, leg)?;
            a.bridge.stop_playback(leg);
            Ok(())
        })
        .await
    }

    /// Customer on hold hearing `music` looped; the agent hears silence.
    pub async fn hold(&self, call: CallId, music: Vec<PromptAudio>) -> Result<()> {
        self.with_call(call, move |a, _| {
            a.bridge.hold(Playback::looped(music));
            Ok(())
        })
        .await
    }

    pub async fn unhold(&self, call: CallId) -> Result<()> {
        self.with_call(call, |a, _| {
            a.bridge.unhold();
            Ok(())
        })
        .await
    }

    /// Sends a key to a leg (RFC 4733 if negotiated, in-band tones otherwise).
    pub async fn send_dtmf(&self, call: CallId, leg: LegId, key: char, duration_ms: u32) -> Result<()> {
        let digit = DtmfDigit::from_char(key).ok_or(MediaServerError::BadDigit(key))?;
        self.with_call(call, move |a, _| Ok(a.bridge.send_dtmf(leg, digit, duration_ms)?)).await
    }

    /// Starts a stereo recording (customer left, agent right) at `relative` under
    /// `recordings_dir` (a new file: an existing one is never overwritten); returns the full path.
    pub async fn start_recording(&self, call: CallId, relative: impl AsRef<Path>) -> Result<PathBuf> {
        let path = recording_path(&self.recordings_dir, relative.as_ref())?;
        let target = path.clone();
        let recorder = tokio::task::spawn_blocking(move || {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            // Never truncate an existing recording (another call's, or one kept for retention).
            let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&target).map_err(
                |e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => MediaServerError::RecordingExists(target.clone()),
                    _ => MediaServerError::Io(e),
                },
            )?;
            Ok::<_, MediaServerError>(StereoRecorder::new(file, RecorderConfig::default())?)
        })
        .await
        .map_err(|_| MediaServerError::Stopped)??;
        let (recording, sink) = Recording::new(path.clone(), recorder);
        self.with_call(call, move |a, _| {
            if a.recording.is_some() {
                return Err(MediaServerError::AlreadyRecording(call));
            }
            a.bridge.start_recording(sink);
            a.recording = Some(recording);
            Ok(())
        })
        .await?;
        Ok(path)
    }

    /// PCI pause: the recording gets silence (the timeline is kept) until resumed.
    pub async fn pause_recording(&self, call: CallId, paused: bool) -> Result<()> {
        self.with_call(call, move |a, _| {
            a.bridge.set_recording_paused(paused);
            Ok(())
        })
        .await
    }

    /// Stops recording; `None` when the call was not recorded. The recorder is taken out on the
    /// media task and finished (flush, header, SHA-256) on the blocking pool.
    pub async fn stop_recording(&self, call: CallId) -> Result<Option<(PathBuf, RecordingInfo)>> {
        let taken = self
            .with_call(call, |a, _| {
                let taken = a.recording.take().and_then(Recording::take);
                let _ = a.bridge.stop_recording(); // the sink is empty now: nothing to finish here
                Ok(taken)
            })
            .await?;
        let Some((path, recorder)) = taken else { return Ok(None) };
        let info = tokio::task::spawn_blocking(move || recording::finish(recorder))
            .await
            .map_err(|_| MediaServerError::Stopped)??;
        Ok(Some((path, info)))
    }

    /// Ends a call's media: RTCP BYE, recording finalised, quality per leg; its ports are freed.
    pub async fn close(&self, call: CallId) -> Result<CloseReport> {
        self.ask(|reply| Command::Close { call, reply }).await?
    }

    /// What the media task counted so far.
    pub async fn counters(&self) -> Result<ServerCounters> {
        self.ask(|reply| Command::Counters { reply }).await
    }

    /// Closes every call and stops the media task (await its `JoinHandle` to know it is done).
    pub async fn shutdown(&self) -> Result<()> {
        self.commands.send(Command::Shutdown).await.map_err(|_| MediaServerError::Stopped)
    }
}

/// `relative` joined under `dir`, refusing absolute paths and `..`.
fn recording_path(dir: &Path, relative: &Path) -> Result<PathBuf> {
    let plain = relative.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain || relative.file_name().is_none() {
        return Err(MediaServerError::BadRecordingPath(relative.to_path_buf()));
    }
    Ok(dir.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_paths_stay_inside_the_recordings_dir() {
        let dir = Path::new("/var/rec");
        assert_eq!(recording_path(dir, Path::new("2026/call.wav")).ok(), Some(PathBuf::from("/var/rec/2026/call.wav")));
        for bad in ["/etc/passwd", "../x.wav", "a/../../x.wav", "./", ""] {
            assert!(recording_path(dir, Path::new(bad)).is_err(), "{bad} accepted");
        }
    }
}
