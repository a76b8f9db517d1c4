//! The wire protocol between the widget and Hotline: JSON text frames over one WebSocket, each an
//! object with a `"type"` tag. Version [`PROTOCOL_VERSION`] is named in `hello` and `welcome`; a
//! client speaking another version is refused with `unsupported_version`.
//!
//! These are boundary DTOs (serde), never trusted: the core validates every field before use.

use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A frame from the customer's widget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame of every connection. Without `conversation_id` a new conversation starts;
    /// with it (and the `token` its `welcome` gave) the connection resumes it and the server
    /// replays every sequenced message after `resume_after_seq`.
    Hello {
        v: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_after_seq: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// The pre-chat form; required once before the first message.
    Prechat {
        name: String,
        issue_type: String,
        language: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// A customer message. Re-sent with the same `client_msg_id` until acknowledged; the server
    /// acknowledges a repeat with the original sequence number and stores it once.
    Msg {
        client_msg_id: String,
        text: String,
    },
    Typing,
    /// The customer has seen everything up to this sequence number.
    Read {
        up_to_seq: u64,
    },
    /// A file, base64 in `data`; `size` is the decoded length; `mime` must match the content.
    Attachment {
        client_msg_id: String,
        name: String,
        mime: String,
        size: u64,
        data: String,
    },
    /// CSAT, once per conversation: 1 (bad) to 5 (excellent).
    Rate {
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// The customer ends the conversation.
    Leave,
}

/// Who wrote a sequenced message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Agent,
    Customer,
    System,
}

/// Where a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// Waiting for the pre-chat form.
    Prechat,
    /// Waiting for an agent.
    Queued,
    /// An agent has accepted it.
    Open,
    /// Outside business hours or no agent: messages are kept as a message left for later.
    Offline,
    Ended,
}

/// What a sequenced message carries when it is a file (the bytes go to the store, not the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    pub name: String,
    pub mime: String,
    pub size: u64,
}

/// Why a frame was refused. Stable words; the widget maps them to zh-CN/English text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, unknown type, missing field, or bigger than the frame limit.
    BadFrame,
    UnsupportedVersion,
    /// A frame before `hello`, or a second `hello`.
    HelloFirst,
    /// Unknown conversation or wrong token (the same answer for both).
    UnknownConversation,
    /// Too many conversations open on this server.
    Busy,
    PrechatRequired,
    InvalidPrechat,
    InvalidMessage,
    MessageTooLarge,
    AttachmentTooLarge,
    /// The content is not an allowed type, or not the type declared.
    AttachmentType,
    /// `size` differs from the decoded length, or `data` is not base64.
    AttachmentMismatch,
    /// More than `max_messages_per_minute` (or `max_frames_per_minute`).
    Flood,
    /// `max_conversation_messages` reached.
    ConversationFull,
    Ended,
    InvalidRating,
    AlreadyRated,
}

impl ErrorCode {
    /// The English message sent with the code.
    pub const fn message(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "the frame is not a valid chat frame",
            ErrorCode::UnsupportedVersion => "this protocol version is not supported",
            ErrorCode::HelloFirst => "send hello once, as the first frame",
            ErrorCode::UnknownConversation => "no such conversation, or the token does not match",
            ErrorCode::Busy => "too many conversations; try again later",
            ErrorCode::PrechatRequired => "fill in the pre-chat form first",
            ErrorCode::InvalidPrechat => "the pre-chat form is incomplete or invalid",
            ErrorCode::InvalidMessage => "the message is empty or its id is invalid",
            ErrorCode::MessageTooLarge => "the message is too long",
            ErrorCode::AttachmentTooLarge => "the file is too large",
            ErrorCode::AttachmentType => "this file type is not allowed",
            ErrorCode::AttachmentMismatch => "the file data does not match its declared size",
            ErrorCode::Flood => "too many messages; slow down",
            ErrorCode::ConversationFull => "this conversation has reached its message limit",
            ErrorCode::Ended => "this conversation has ended",
            ErrorCode::InvalidRating => "the rating must be 1 to 5",
            ErrorCode::AlreadyRated => "this conversation is already rated",
        }
    }
}

/// A frame to the customer's widget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`. Keep `conversation_id` and `token` to resume; `last_seq` is the
    /// conversation's newest sequence number.
    Welcome {
        v: u32,
        conversation_id: String,
        token: String,
        state: ConversationState,
        last_seq: u64,
    },
    /// The customer message `client_msg_id` is stored as `seq`.
    Ack {
        client_msg_id: String,
        seq: u64,
    },
    /// A sequenced message; `seq` grows by one per conversation, without gaps.
    Msg {
        seq: u64,
        from: Author,
        text: String,
        /// Unix milliseconds.
        ts: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<AttachmentMeta>,
    },
    /// The agent is typing.
    Typing,
    /// The agent has read up to `up_to_seq`.
    Read {
        up_to_seq: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    /// The conversation is over (the customer may still `rate`).
    Ended,
}

impl ServerFrame {
    pub fn error(code: ErrorCode) -> Self {
        ServerFrame::Error { code, message: code.message().to_owned() }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames are plain data and always serialise")
    }
}

impl ClientFrame {
    /// Parses one text frame; callers have already checked its length.
    pub fn parse(text: &str) -> Result<Self, ErrorCode> {
        serde_json::from_str(text).map_err(|_| ErrorCode::BadFrame)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames are plain data and always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_a_type_tag_and_snake_case_words() {
        let f = ServerFrame::Msg {
            seq: 3,
            from: Author::Agent,
            text: "你好".into(),
            ts: 5,
            client_msg_id: None,
            attachment: None,
        };
        assert_eq!(f.to_json(), r#"{"type":"msg","seq":3,"from":"agent","text":"你好","ts":5}"#);
        assert_eq!(
            ServerFrame::error(ErrorCode::AttachmentType).to_json(),
            r#"{"type":"error","code":"attachment_type","message":"this file type is not allowed"}"#
        );
    }

    #[test]
    fn hello_without_optional_fields_parses() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"hello","v":1}"#),
            Ok(ClientFrame::Hello { v: 1, conversation_id: None, resume_after_seq: None, token: None })
        );
    }

    #[test]
    fn junk_is_a_bad_frame() {
        for junk in ["", "{", "[]", r#"{"type":"nope"}"#, r#"{"type":"msg","text":1}"#, r#"{"type":"read"}"#] {
            assert_eq!(ClientFrame::parse(junk), Err(ErrorCode::BadFrame), "{junk}");
        }
    }
}
