//! Controls of a live call, from the web layer through the center to the channel that carries
//! the call (voice): hold, PCI recording pause, consult (attended transfer) and silent
//! monitoring. The center checks the contact is connected and forwards a [`CallControl`] to the
//! channel's consumer ([`crate::CenterHandle::take_call_controls`]), which answers it directly
//! over the control's own reply channel; the center's task never waits for the answer. What the
//! channel then did comes back as a [`CallChange`] ([`crate::CenterHandle::call_changed`]): the
//! center records it as a contact event and publishes [`crate::LiveEvent::CallUpdated`].
//!
//! Never: forward a control for a contact that is not connected, or queue controls without a
//! limit (a full consumer queue is [`CenterError::Busy`]).

use model::{AgentId, ContactEventKind, ContactId, Extension, UserId};
use serde::Serialize;
use serde_json::json;
use tokio::sync::oneshot;

use crate::CenterError;

/// Longest the web layer waits for the channel to carry a control out, in ms.
pub const CALL_CONTROL_TIMEOUT_MS: u64 = 10_000;
/// Controls waiting for a channel's consumer.
pub const MAX_QUEUED_CALL_CONTROLS: usize = 256;

/// What a supervisor hears and says on a monitored call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorMode {
    /// Hears customer and agent; nobody hears the supervisor.
    Listen,
    /// Hears both; the agent (only) hears the supervisor too.
    Whisper,
}

impl MonitorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorMode::Listen => "listen",
            MonitorMode::Whisper => "whisper",
        }
    }
}

/// What to do to a live call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallCommand {
    /// The customer hears music on hold; the agent's side is muted.
    Hold,
    /// Back to talking.
    Resume,
    /// PCI: the recording gets silence until resumed (the timeline is kept).
    PauseRecording,
    ResumeRecording,
    /// Attended transfer, step one: the customer is held and `agent`'s phone is rung.
    Consult {
        agent: AgentId,
    },
    /// The consulted agent takes the customer; the first agent leaves (wrap-up).
    CompleteConsult,
    /// The consulted agent is let go; back to the customer.
    CancelConsult,
    /// Rings the supervisor's phone (`extension`) and lets them listen or whisper; a second
    /// request while they are on switches the mode.
    Monitor {
        supervisor: UserId,
        extension: Extension,
        mode: MonitorMode,
    },
    /// Hangs up the supervisor's phone.
    StopMonitor,
}

impl CallCommand {
    pub fn name(&self) -> &'static str {
        match self {
            CallCommand::Hold => "hold",
            CallCommand::Resume => "resume",
            CallCommand::PauseRecording => "pause_recording",
            CallCommand::ResumeRecording => "resume_recording",
            CallCommand::Consult { .. } => "consult",
            CallCommand::CompleteConsult => "complete_consult",
            CallCommand::CancelConsult => "cancel_consult",
            CallCommand::Monitor { .. } => "monitor",
            CallCommand::StopMonitor => "stop_monitor",
        }
    }
}

/// A command for the channel carrying a connected contact. Answer it with [`CallControl::done`].
#[derive(Debug)]
pub struct CallControl {
    pub contact: ContactId,
    /// The agent connected to the contact when the command was sent.
    pub agent: AgentId,
    pub command: CallCommand,
    pub(crate) reply: oneshot::Sender<Result<(), CenterError>>,
}

impl CallControl {
    /// Tells the sender whether the command was carried out.
    pub fn done(self, result: Result<(), CenterError>) {
        let _ = self.reply.send(result);
    }
}

/// A live call's controls as they stand, sent with every [`CallChange`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallState {
    pub held: bool,
    pub recording_paused: bool,
    /// The agent being consulted (rung or talking), if any.
    #[serde(serialize_with = "opt_text")]
    pub consulting: Option<AgentId>,
    /// A supervisor on the call and how.
    pub monitor: Option<MonitorMode>,
}

fn opt_text<S: serde::Serializer>(v: &Option<AgentId>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// What the channel did to a live call (it is recorded and published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallChange {
    Held,
    Resumed,
    RecordingPaused,
    RecordingResumed,
    ConsultRinging {
        agent: AgentId,
    },
    ConsultAnswered {
        agent: AgentId,
    },
    /// The consult ended: `completed` (the customer went to `agent`) or not (cancelled, no answer).
    ConsultEnded {
        agent: AgentId,
        completed: bool,
    },
    MonitorStarted {
        supervisor: UserId,
        mode: MonitorMode,
    },
    MonitorEnded {
        supervisor: UserId,
    },
}

impl CallChange {
    /// The contact event it is recorded as, and its detail.
    pub(crate) fn record(&self) -> (ContactEventKind, serde_json::Value) {
        match self {
            CallChange::Held => (ContactEventKind::Held, json!({"by": "desktop"})),
            CallChange::Resumed => (ContactEventKind::Resumed, json!({"by": "desktop"})),
            CallChange::RecordingPaused => (ContactEventKind::RecordingPaused, json!({})),
            CallChange::RecordingResumed => (ContactEventKind::RecordingResumed, json!({})),
            CallChange::ConsultRinging { agent } => {
                (ContactEventKind::Message, json!({"consult": "ringing", "agent": agent.to_string()}))
            }
            CallChange::ConsultAnswered { agent } => {
                (ContactEventKind::Message, json!({"consult": "answered", "agent": agent.to_string()}))
            }
            CallChange::ConsultEnded { agent, completed } => (
                ContactEventKind::Message,
                json!({"consult": if *completed { "completed" } else { "cancelled" }, "agent": agent.to_string()}),
            ),
            CallChange::MonitorStarted { supervisor, mode } => (
                ContactEventKind::Message,
                json!({"monitor": "started", "mode": mode.as_str(), "supervisor": supervisor.to_string()}),
            ),
            CallChange::MonitorEnded { supervisor } => {
                (ContactEventKind::Message, json!({"monitor": "ended", "supervisor": supervisor.to_string()}))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            CallChange::Held => "held",
            CallChange::Resumed => "resumed",
            CallChange::RecordingPaused => "recording_paused",
            CallChange::RecordingResumed => "recording_resumed",
            CallChange::ConsultRinging { .. } => "consult_ringing",
            CallChange::ConsultAnswered { .. } => "consult_answered",
            CallChange::ConsultEnded { .. } => "consult_ended",
            CallChange::MonitorStarted { .. } => "monitor_started",
            CallChange::MonitorEnded { .. } => "monitor_ended",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_and_resume_are_recorded_as_the_recording_events() {
        assert_eq!(CallChange::RecordingPaused.record().0, ContactEventKind::RecordingPaused);
        assert_eq!(CallChange::RecordingResumed.record().0, ContactEventKind::RecordingResumed);
        assert_eq!(CallChange::Held.record().0, ContactEventKind::Held);
    }
}
