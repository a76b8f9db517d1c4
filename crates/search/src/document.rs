//! What goes into the index: one [`SearchDocument`] per transcript segment, chat message, email or
//! agent note, with the contact's facts copied beside the text so that filters never need the
//! store. Also the tantivy schema those documents map to. This module must never decide what a
//! user may see; that is the query side's org filter.

use model::{AgentId, Channel, ContactId, CustomerId, OrgId, QueueId, ReasonCode, Timestamp};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::tokenizer::ANALYZER_NAME;

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A stretch of a call transcript; carries its offset in the recording.
    TranscriptSegment,
    ChatMessage,
    Email,
    /// A note the agent wrote on the contact.
    AgentNote,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 4] =
        [DocumentKind::TranscriptSegment, DocumentKind::ChatMessage, DocumentKind::Email, DocumentKind::AgentNote];

    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentKind::TranscriptSegment => "transcript",
            DocumentKind::ChatMessage => "chat",
            DocumentKind::Email => "email",
            DocumentKind::AgentNote => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who spoke a transcript segment (which channel of the recording it came from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speaker {
    Customer,
    Agent,
}

impl Speaker {
    pub const fn as_str(self) -> &'static str {
        match self {
            Speaker::Customer => "customer",
            Speaker::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Speaker::Customer, Speaker::Agent].into_iter().find(|k| k.as_str() == s)
    }
}

/// One searchable text and the facts of its contact.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDocument {
    pub org: OrgId,
    pub contact: ContactId,
    pub kind: DocumentKind,
    /// Which segment / message / note of the contact this is; with `contact` and `kind` it is the
    /// document's key, so indexing the same key again replaces the document.
    pub ordinal: u32,
    pub agent: Option<AgentId>,
    pub queue: Option<QueueId>,
    pub customer: Option<CustomerId>,
    pub channel: Channel,
    /// When the text was said or written.
    pub at: Timestamp,
    pub disposition: Option<ReasonCode>,
    /// 1–5 when the customer answered the survey.
    pub csat: Option<u8>,
    /// For transcript segments: where in the recording the segment starts.
    pub recording_offset_ms: Option<u64>,
    pub speaker: Option<Speaker>,
    pub text: String,
}

/// The index's fields, resolved once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub key: Field,
    pub org: Field,
    pub contact: Field,
    pub kind: Field,
    pub ordinal: Field,
    pub agent: Field,
    pub queue: Field,
    pub customer: Field,
    pub channel: Field,
    pub at: Field,
    pub disposition: Field,
    pub csat: Field,
    pub offset: Field,
    pub speaker: Field,
    pub flag: Field,
    /// `yes` when any rule flagged the document, so "flagged only" is one term.
    pub flagged: Field,
    pub text: Field,
}

impl Fields {
    pub(crate) fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text_options = TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER_NAME)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let fields = Fields {
            key: b.add_text_field("key", STRING),
            org: b.add_text_field("org", STRING),
            contact: b.add_text_field("contact", STRING | STORED),
            kind: b.add_text_field("kind", STRING | STORED),
            ordinal: b.add_u64_field("ordinal", STORED),
            agent: b.add_text_field("agent", STRING | STORED),
            queue: b.add_text_field("queue", STRING | STORED),
            customer: b.add_text_field("customer", STRING | STORED),
            channel: b.add_text_field("channel", STRING | STORED),
            at: b.add_i64_field("at", INDEXED | FAST | STORED),
            disposition: b.add_text_field("disposition", STRING | STORED),
            csat: b.add_u64_field("csat", INDEXED | STORED),
            offset: b.add_u64_field("offset_ms", STORED),
            speaker: b.add_text_field("speaker", STRING | STORED),
            flag: b.add_text_field("flag", STRING | STORED),
            flagged: b.add_text_field("flagged", STRING),
            text: b.add_text_field("text", text_options),
        };
        (b.build(), fields)
    }
}

/// The unique key of a document: contact, kind and ordinal.
pub(crate) fn document_key(org: OrgId, contact: ContactId, kind: DocumentKind, ordinal: u32) -> String {
    format!("{org}/{contact}/{}/{ordinal}", kind.as_str())
}
