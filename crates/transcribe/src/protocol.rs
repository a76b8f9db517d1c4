//! The JSON-lines protocol spoken with the Python worker (`worker/hotline_whisper_worker.py`):
//! one request per channel, answered by progress and segment lines and one `done` or `error`.
//!
//! Pure: encodes requests and parses reply lines. Never panics on a line the worker wrote; a line
//! that is not one of the replies below is [`Reply::Unreadable`], which the supervisor treats as
//! a broken worker.

use serde::{Deserialize, Serialize};

/// One channel of one recording to transcribe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request<'a> {
    pub id: u64,
    pub wav: &'a str,
    /// 0 = left (customer), 1 = right (agent).
    pub channel: u8,
    /// ISO 639-1 code (`en`, `zh`); `None` lets a multilingual model detect it.
    pub language: Option<&'a str>,
}

impl Request<'_> {
    /// The request as one line, newline included.
    pub fn to_line(&self) -> String {
        // Serialising a struct of strings and integers cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// One line from the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The model is loaded; requests may follow.
    Ready,
    /// Start-up failed (model missing or unreadable); the worker exits.
    StartFailed {
        message: String,
    },
    Progress {
        id: u64,
        percent: u8,
    },
    Segment {
        id: u64,
        start_ms: u64,
        end_ms: u64,
        text: String,
    },
    Done {
        id: u64,
        duration_ms: u64,
    },
    Failed {
        id: Option<u64>,
        message: String,
    },
    /// Not a line of this protocol (kept, cut, for the failure reason).
    Unreadable {
        line: String,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Wire {
    Ready,
    Progress { id: u64, percent: f64 },
    Segment { id: u64, start_ms: u64, end_ms: u64, text: String },
    Done { id: u64, duration_ms: u64 },
    Error { id: Option<u64>, message: String },
}

/// Longest piece of an unreadable line kept for the failure reason, in characters.
const MAX_UNREADABLE_CHARS: usize = 200;

/// Reads one line of the worker's stdout.
pub fn parse_reply(line: &str) -> Reply {
    match serde_json::from_str::<Wire>(line) {
        Ok(Wire::Ready) => Reply::Ready,
        Ok(Wire::Progress { id, percent }) => Reply::Progress { id, percent: percent.clamp(0.0, 100.0) as u8 },
        Ok(Wire::Segment { id, start_ms, end_ms, text }) => Reply::Segment { id, start_ms, end_ms, text },
        Ok(Wire::Done { id, duration_ms }) => Reply::Done { id, duration_ms },
        // An error without an id before any request is the start-up failure.
        Ok(Wire::Error { id: None, message }) if !line.contains("\"id\"") => Reply::StartFailed { message },
        Ok(Wire::Error { id, message }) => Reply::Failed { id, message },
        Err(_) => Reply::Unreadable { line: line.chars().take(MAX_UNREADABLE_CHARS).collect() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_one_json_line() {
        let r = Request { id: 7, wav: "/r/a \"b\".wav", channel: 1, language: Some("zh") };
        let line = r.to_line();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["wav"], "/r/a \"b\".wav");
        assert_eq!(v["language"], "zh");
    }

    #[test]
    fn replies_of_every_kind_are_read() {
        assert_eq!(parse_reply(r#"{"type": "ready", "model": "/m"}"#), Reply::Ready);
        assert_eq!(
            parse_reply(r#"{"id": 1, "type": "progress", "percent": 55}"#),
            Reply::Progress { id: 1, percent: 55 }
        );
        assert_eq!(
            parse_reply(r#"{"id": 1, "type": "progress", "percent": 400}"#),
            Reply::Progress { id: 1, percent: 100 }
        );
        assert_eq!(
            parse_reply(r#"{"id": 1, "type": "segment", "start_ms": 0, "end_ms": 2000, "text": "退款"}"#),
            Reply::Segment { id: 1, start_ms: 0, end_ms: 2000, text: "退款".into() }
        );
        assert_eq!(
            parse_reply(r#"{"id": 1, "type": "done", "duration_ms": 3593}"#),
            Reply::Done { id: 1, duration_ms: 3593 }
        );
        assert_eq!(
            parse_reply(r#"{"type": "error", "message": "no model"}"#),
            Reply::StartFailed { message: "no model".into() }
        );
        assert_eq!(
            parse_reply(r#"{"id": 2, "type": "error", "message": "bad wav"}"#),
            Reply::Failed { id: Some(2), message: "bad wav".into() }
        );
        assert_eq!(
            parse_reply(r#"{"id": null, "type": "error", "message": "bad line"}"#),
            Reply::Failed { id: None, message: "bad line".into() }
        );
    }

    #[test]
    fn garbage_is_unreadable_and_cut() {
        let long = "x".repeat(10_000);
        match parse_reply(&long) {
            Reply::Unreadable { line } => assert_eq!(line.len(), MAX_UNREADABLE_CHARS),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_reply(r#"{"id": -1, "type": "done"}"#), Reply::Unreadable { .. }));
        assert!(matches!(parse_reply("\u{0}"), Reply::Unreadable { .. }));
    }
}
