//! The call-control API of the server: [`CallControl`] sends commands to the engine (bounded
//! queue), [`CallEvents`] receives what happens to calls (bounded queue). The vocabulary
//! ([`CallEvent`], [`CallRef`], [`DialRequest`], [`MediaAnchor`]...) is the sans-IO core's
//! (`sip::calls`), re-exported here.
//!
//! ```text
//! app ──CallControl::{ring, answer, reject, dial, cancel, hangup, reinvite, refer_progress, link}──> engine
//! app <──────────────── CallEvents::recv(): Incoming, Ringing, Answered, Failed, Ended, Hold, ... ── engine
//! ```
//! A command only queues: its outcome arrives as an event (`Answered`, `Failed`, `Ended`...).
//! Commands naming a leg that no longer exists are ignored and counted. When the application
//! does not keep up and the event queue is full, an `Incoming` call is rejected 503 and other
//! events are dropped and counted (`call_events_dropped`); events are never awaited by the engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sip::StatusCode;
pub use sip::calls::{
    CallCommand, CallConfig, CallEvent, CallRef, Caller, DialContact, DialRequest, DialTarget, EndReason, MediaAnchor,
    PassThrough,
};
use sip::sdp::SessionDescription;
use tokio::sync::mpsc;

/// Why a command could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallControlError {
    #[error("the SIP server has stopped")]
    Stopped,
}

/// Sends call commands to a running server. Cheap to clone; every clone feeds the same bounded
/// queue (`max_queued_call_commands`), so a sender waits when the engine is behind.
#[derive(Debug, Clone)]
pub struct CallControl {
    commands: mpsc::Sender<CallCommand>,
    next_dialled: Arc<AtomicU64>,
}

/// The stream of call events of a running server (one receiver per server).
pub type CallEvents = mpsc::Receiver<CallEvent>;

impl CallControl {
    pub(crate) fn new(commands: mpsc::Sender<CallCommand>) -> CallControl {
        CallControl { commands, next_dialled: Arc::new(AtomicU64::new(CallRef::FIRST_DIALLED.0)) }
    }

    async fn send(&self, command: CallCommand) -> Result<(), CallControlError> {
        self.commands.send(command).await.map_err(|_| CallControlError::Stopped)
    }

    /// 180 Ringing, or 183 with `early_media` SDP, to an inbound call.
    pub async fn ring(&self, call: CallRef, early_media: Option<SessionDescription>) -> Result<(), CallControlError> {
        self.send(CallCommand::Ring { call, early_media }).await
    }

    /// 200 OK with `sdp` to an inbound call, or to its pending re-INVITE (`CallEvent::Hold`).
    pub async fn answer(&self, call: CallRef, sdp: SessionDescription) -> Result<(), CallControlError> {
        self.send(CallCommand::Answer { call, sdp }).await
    }

    /// A final error (≥ 300) to an inbound call or to its pending re-INVITE.
    pub async fn reject(&self, call: CallRef, status: StatusCode) -> Result<(), CallControlError> {
        self.send(CallCommand::Reject { call, status }).await
    }

    /// Starts an outbound leg and returns its reference at once; what happens to it arrives as
    /// `Ringing`, `Answered` or `Failed`.
    pub async fn dial(&self, request: DialRequest) -> Result<CallRef, CallControlError> {
        let call = CallRef(self.next_dialled.fetch_add(1, Ordering::Relaxed));
        self.send(CallCommand::Dial { call, request: Box::new(request) }).await?;
        Ok(call)
    }

    /// Cancels an outbound leg that is not answered yet.
    pub async fn cancel(&self, call: CallRef) -> Result<(), CallControlError> {
        self.send(CallCommand::Cancel { call }).await
    }

    /// Ends a leg whatever its state (BYE, CANCEL or 480).
    pub async fn hangup(&self, call: CallRef) -> Result<(), CallControlError> {
        self.send(CallCommand::Hangup { call }).await
    }

    /// A re-INVITE with `sdp` (hold: sendonly; resume: sendrecv); the answer comes as `Reinvited`.
    pub async fn reinvite(&self, call: CallRef, sdp: SessionDescription) -> Result<(), CallControlError> {
        self.send(CallCommand::Reinvite { call, sdp }).await
    }

    /// Reports the progress of a transfer asked by `CallEvent::Refer` (NOTIFY with sipfrag).
    pub async fn refer_progress(&self, call: CallRef, status: StatusCode) -> Result<(), CallControlError> {
        self.send(CallCommand::ReferProgress { call, status }).await
    }

    /// Links two legs into one call: hang-ups, cancels, answers and re-INVITEs propagate, each
    /// SDP through the server's [`MediaAnchor`].
    pub async fn link(&self, a: CallRef, b: CallRef) -> Result<(), CallControlError> {
        self.send(CallCommand::Link { a, b }).await
    }
}
