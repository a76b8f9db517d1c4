//! Keyword-rule flags raised by what was written on a contact: its wrap-up note, chat messages
//! and emails. Migration 0016. (A call transcript's flags stay on its transcription job.)
//!
//! One row per (org, contact, rule), holding the first text that matched the rule: flags only
//! accumulate, and [`Store::add_text_flags`] answers which of the given flags were new, so the
//! binary can index a contact's texts any number of times and still raise each flag (and feed
//! the complaint alert) once. A contact with any row is a flagged QA candidate
//! ([`Store::list_qa_candidates`]).
//!
//! Never: a query without `org_id = ?`, a listing without a row limit, an unbounded write.

use model::{ContactId, OrgId, Timestamp};

use crate::error::StoreError;
use crate::sql::{self, RowReader, Value};
use crate::{Backend, Store};

const TABLE: &str = "contact_text_flags";
const WHAT: &str = "text flag";
const COLS: &str = "org_id, contact_id, rule_name, keyword, text_kind, text_ordinal, flagged_at_ms";

/// Most flags one [`Store::add_text_flags`] takes and one contact's listing returns (as many as
/// the keyword rules one deployment may have).
pub const MAX_TEXT_FLAGS_PER_CONTACT: usize = 64;
/// Longest rule name, in characters.
pub const MAX_TEXT_FLAG_RULE_CHARS: usize = 64;
/// Longest keyword, in characters (a keyword and its trailing `*`).
pub const MAX_TEXT_FLAG_KEYWORD_CHARS: usize = 100;

/// Which of a contact's texts matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlaggedText {
    /// The wrap-up note.
    Note,
    ChatMessage,
    Email,
}

impl FlaggedText {
    pub const ALL: [FlaggedText; 3] = [FlaggedText::Note, FlaggedText::ChatMessage, FlaggedText::Email];

    pub const fn as_str(self) -> &'static str {
        match self {
            FlaggedText::Note => "note",
            FlaggedText::ChatMessage => "chat",
            FlaggedText::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A keyword rule that flagged a contact through one of its texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFlag {
    pub org: OrgId,
    pub contact: ContactId,
    /// The keyword rule's name (`complaint`).
    pub rule: String,
    /// The keyword that matched, as configured (`complain*`).
    pub keyword: String,
    pub text: FlaggedText,
    /// Which text of that kind: the chat message's sequence number, the email's place in the
    /// thread, 0 for the note.
    pub text_ordinal: u32,
    pub flagged_at: Timestamp,
}

fn values(f: &TextFlag) -> Result<Vec<Value>, StoreError> {
    let fits = |s: &str, max: usize| !s.trim().is_empty() && s.chars().count() <= max;
    if !fits(&f.rule, MAX_TEXT_FLAG_RULE_CHARS) || !fits(&f.keyword, MAX_TEXT_FLAG_KEYWORD_CHARS) {
        return Err(StoreError::InvalidInput {
            what: WHAT,
            reason: format!(
                "the rule must be 1 to {MAX_TEXT_FLAG_RULE_CHARS} characters and the keyword 1 to \
                 {MAX_TEXT_FLAG_KEYWORD_CHARS}"
            ),
        });
    }
    Ok(vec![
        Value::from(f.org.to_string()),
        Value::from(f.contact.to_string()),
        Value::from(f.rule.as_str()),
        Value::from(f.keyword.as_str()),
        Value::from(f.text.as_str()),
        Value::from(i64::from(f.text_ordinal)),
        Value::from(f.flagged_at.unix_ms()),
    ])
}

fn from_row(r: &RowReader<'_>) -> Result<TextFlag, StoreError> {
    Ok(TextFlag {
        org: r.parse("org_id")?,
        contact: r.parse("contact_id")?,
        rule: r.text("rule_name")?,
        keyword: r.text("keyword")?,
        text: r.with("text_kind", |s| {
            FlaggedText::parse(s).ok_or_else(|| model::ValueError::new("text kind", s, "is not note, chat or email"))
        })?,
        text_ordinal: r.uint("text_ordinal")?,
        flagged_at: r.time("flagged_at_ms")?,
    })
}

/// An insert that leaves an existing row with the same key alone (and changes no row).
fn insert_if_absent(backend: Backend) -> String {
    let marks = vec!["?"; COLS.split(", ").count()].join(", ");
    match backend {
        Backend::MySql => format!("INSERT IGNORE INTO {TABLE} ({COLS}) VALUES ({marks})"),
        _ => format!(
            "INSERT INTO {TABLE} ({COLS}) VALUES ({marks}) ON CONFLICT (org_id, contact_id, rule_name) DO NOTHING"
        ),
    }
}

impl Store {
    /// Stores each flag whose rule has not flagged its contact yet, in one transaction, and
    /// returns those (in the order given); a rule that already flagged the contact keeps its first
    /// row. At most [`MAX_TEXT_FLAGS_PER_CONTACT`] flags; a bad one refuses the whole call.
    pub async fn add_text_flags(&self, flags: &[TextFlag]) -> Result<Vec<TextFlag>, StoreError> {
        if flags.len() > MAX_TEXT_FLAGS_PER_CONTACT {
            return Err(StoreError::InvalidInput {
                what: WHAT,
                reason: format!("at most {MAX_TEXT_FLAGS_PER_CONTACT} flags at once"),
            });
        }
        let rows = flags.iter().map(values).collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let insert = insert_if_absent(self.backend);
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query(WHAT, e))?;
        let mut added = Vec::new();
        for (flag, args) in flags.iter().zip(rows) {
            if sql::execute(&mut tx, self.backend, WHAT, &insert, args).await? > 0 {
                added.push(flag.clone());
            }
        }
        tx.commit().await.map_err(|e| StoreError::from_query(WHAT, e))?;
        Ok(added)
    }

    /// The flags a contact's texts raised, oldest first (then by rule), at most
    /// [`MAX_TEXT_FLAGS_PER_CONTACT`].
    pub async fn list_text_flags(&self, org: OrgId, contact: ContactId) -> Result<Vec<TextFlag>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM {TABLE} WHERE org_id = ? AND contact_id = ? \
             ORDER BY flagged_at_ms, rule_name LIMIT {MAX_TEXT_FLAGS_PER_CONTACT}"
        );
        let args = vec![Value::from(org.to_string()), Value::from(contact.to_string())];
        let mut conn = self.conn().await?;
        let rows = sql::fetch_all(&mut conn, self.backend, WHAT, &sql, args).await?;
        rows.iter().map(|r| from_row(&RowReader::new(r, TABLE))).collect()
    }
}
