//! Writes what was written on a contact into the keyword search index: the web chat's messages
//! ([`search::DocumentKind::ChatMessage`], ordinal = the message's sequence number), the emails
//! received and the agents' replies ([`search::DocumentKind::Email`], ordinal = the message's
//! place in the thread), the WeChat, Weibo and webhook conversations' messages in and out
//! ([`search::DocumentKind::ChatMessage`] too, ordinal = the message's place in the conversation),
//! and the wrap-up note (through [`crate::search_notes`]), each with the contact's agent, queue,
//! customer, channel and the time it was written.
//!
//! A social message is indexed as a chat message because it is one: a line of a conversation
//! between the customer and an agent, with the same speakers. The document's channel (`wechat`,
//! `weibo`, `webhook`) tells it from a web chat's, so `/api/search` filters and shows it as such.
//!
//! One worker task takes contact ids from a bounded queue ([`MAX_QUEUED_CONTACTS`]): the event
//! dispatcher (`crate::events`) sends a contact when it is answered, ends or finishes wrap-up,
//! and the email channel when it stores a message. For each, the center is flushed (it writes the
//! contact row after publishing its event), the row is read once, and every text of the contact
//! is indexed again: indexing a key again replaces it, so a contact seen twice is never
//! duplicated, and the agent who answered is on texts written before the answer.
//!
//! Keyword rules (`[[search.keyword_rules]]`, or the standard 投诉/退款 ones) flag the contact
//! when one of its texts matches: the flag is stored (`store::TextFlag`, one per contact and
//! rule, so the contact is a flagged QA candidate like one whose transcript was flagged) and the
//! rules that flagged it *for the first time* go to the complaint alerts (the same sink as the
//! transcriber's flags), so indexing a contact again never counts it again.
//!
//! Never: block the sender (a full queue drops the contact, logged with the count), index more
//! than [`MAX_TEXTS_PER_CONTACT`] texts of one contact or more than [`MAX_INDEXED_TEXT_BYTES`] of
//! one text, or stop on a failure (it is logged with the contact id; search lacks that text).

use std::sync::Arc;

use center::CenterHandle;
use model::{Channel, Contact, ContactId, OrgId};
use store::{ChatAuthor, ChatConversation, ChatConversationState, EmailDirection, SocialDirection, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Contacts waiting for the worker.
pub const MAX_QUEUED_CONTACTS: usize = 1_000;
/// Most chat messages, emails or social messages of one contact read and indexed.
pub const MAX_TEXTS_PER_CONTACT: u32 = 1_000;
/// Reads of an ended contact's chat while the web's chat writer catches up with its end.
const CHAT_END_READS: u32 = 10;
/// Wait between those reads, in milliseconds.
const CHAT_END_RETRY_MS: u64 = 100;
/// Longest text indexed, in bytes of UTF-8 (cut at a character boundary); well under the
/// index's own per-document limit.
pub const MAX_INDEXED_TEXT_BYTES: usize = 64 * 1024;

/// Where contacts whose texts changed are sent; cheap to clone.
#[derive(Clone, Debug)]
pub struct TextSink {
    tx: mpsc::Sender<ContactId>,
}

impl TextSink {
    /// Queues the contact without waiting; dropped (and logged) when the queue is full.
    pub fn changed(&self, contact: ContactId) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(contact) {
            tracing::warn!(%contact, max = MAX_QUEUED_CONTACTS, "search indexing queue full; contact texts not indexed");
        }
    }
}

/// What the worker needs to index one org's contacts.
pub struct Indexer {
    pub center: CenterHandle,
    pub store: Store,
    pub org: OrgId,
    pub index: Arc<search::SearchIndex>,
    /// The keyword rules that flag contacts (one set for the whole binary).
    pub rules: Arc<search::KeywordRules>,
}

/// Starts the worker; it ends when every [`TextSink`] is dropped. Contacts newly flagged by a
/// keyword rule are sent to `flags` (the complaint alerts) when given.
pub fn start(indexer: Indexer, flags: Option<mpsc::Sender<web::alerts::KeywordFlags>>) -> (TextSink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<ContactId>(MAX_QUEUED_CONTACTS);
    let task = tokio::spawn(async move {
        let mut flags = flags;
        while let Some(contact) = rx.recv().await {
            if let Err(e) = indexer.center.flush().await {
                tracing::warn!(%contact, error = %e, "center not flushed before indexing; the row may be behind");
            }
            let new_flags = match indexer.index_contact(contact).await {
                Ok(new) => new,
                Err(e) => {
                    tracing::warn!(%contact, error = %e, "could not index the contact's texts");
                    continue;
                }
            };
            if new_flags.is_empty() {
                continue;
            }
            tracing::info!(%contact, rules = ?new_flags, "keyword rules flagged the contact's texts");
            if let Some(sink) = &flags {
                let notice = web::alerts::KeywordFlags { org: indexer.org, contact, flags: new_flags };
                if !web::alerts::keyword_flags_into(sink, notice) {
                    flags = None; // the alert service has stopped
                }
            }
        }
    });
    (TextSink { tx }, task)
}

impl Indexer {
    /// Indexes every text of one contact (its note, chat, email or social messages) and stores the
    /// keyword-rule flags they raise; returns the names of the rules that flagged the contact
    /// for the first time.
    pub async fn index_contact(&self, contact: ContactId) -> anyhow::Result<Vec<String>> {
        let Some(row) = self.store.get_contact(self.org, contact).await? else {
            anyhow::bail!("no such contact");
        };
        let docs = documents(&self.store, &row).await?;
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let (index, rules) = (self.index.clone(), self.rules.clone());
        let hits = tokio::task::spawn_blocking(move || -> Result<_, search::SearchError> {
            let mut hits = Vec::new();
            for doc in &docs {
                let outcome = index.index(doc, &rules)?;
                hits.extend(outcome.rule_hits.into_iter().map(|h| (doc.kind, doc.ordinal, h)));
            }
            index.commit()?;
            Ok(hits)
        })
        .await??;
        let flags = text_flags(&row, hits, center::Clock::now(&center::SystemClock));
        let added = self.store.add_text_flags(&flags).await?;
        Ok(added.into_iter().map(|f| f.rule).collect())
    }
}

/// The first text that matched each rule, as the store keeps it (at most one per rule, and a
/// rule set holds at most `search::rules::MAX_RULES`, the store's per-contact bound).
fn text_flags(
    c: &Contact,
    hits: Vec<(search::DocumentKind, u32, search::RuleHit)>,
    now: model::Timestamp,
) -> Vec<store::TextFlag> {
    let mut flags: Vec<store::TextFlag> = Vec::new();
    for (kind, ordinal, hit) in hits {
        let text = match kind {
            search::DocumentKind::AgentNote => store::FlaggedText::Note,
            search::DocumentKind::ChatMessage => store::FlaggedText::ChatMessage,
            search::DocumentKind::Email => store::FlaggedText::Email,
            search::DocumentKind::TranscriptSegment => continue, // never indexed here
        };
        if flags.iter().any(|f| f.rule == hit.rule) || flags.len() >= store::MAX_TEXT_FLAGS_PER_CONTACT {
            continue;
        }
        flags.push(store::TextFlag {
            org: c.org,
            contact: c.id,
            rule: hit.rule,
            keyword: hit.keyword,
            text,
            text_ordinal: ordinal,
            flagged_at: now,
        });
    }
    flags
}

/// Every text of the contact as a search document: its note and its channel's messages.
async fn documents(store: &Store, row: &Contact) -> anyhow::Result<Vec<search::SearchDocument>> {
    let mut docs = crate::search_notes::note_document(row).into_iter().collect::<Vec<_>>();
    match row.channel {
        Channel::Chat => docs.extend(chat_documents(store, row).await?),
        Channel::Email => docs.extend(email_documents(store, row).await?),
        Channel::WeChat | Channel::Weibo | Channel::Webhook => docs.extend(social_documents(store, row).await?),
        Channel::Voice => {} // transcripts are the transcriber's
    }
    Ok(docs)
}

/// A document of the contact with its facts; the caller sets kind, ordinal, time, speaker, text.
fn document(c: &Contact, kind: search::DocumentKind, ordinal: u32, text: &str) -> search::SearchDocument {
    search::SearchDocument {
        org: c.org,
        contact: c.id,
        kind,
        ordinal,
        agent: c.agent,
        queue: c.queue,
        customer: c.customer,
        channel: c.channel,
        at: c.arrived_at,
        disposition: c.disposition.clone(),
        csat: c.csat,
        recording_offset_ms: None,
        speaker: None,
        text: cut(text, MAX_INDEXED_TEXT_BYTES).to_owned(),
    }
}

/// The chat routed as the contact. Once the contact has ended, the web's chat writer stores the
/// conversation's end after its last messages (one ordered writer), so the conversation is read
/// until it shows the end, at most [`CHAT_END_READS`] times [`CHAT_END_RETRY_MS`] apart.
async fn chat_conversation(store: &Store, c: &Contact) -> anyhow::Result<Option<ChatConversation>> {
    let mut conversation = None;
    for attempt in 0..CHAT_END_READS {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(CHAT_END_RETRY_MS)).await;
        }
        conversation = store.find_chat_conversation_by_contact(c.org, c.id).await?;
        let settled = conversation.as_ref().is_none_or(|v| v.state == ChatConversationState::Ended);
        if c.ended_at.is_none() || settled {
            break;
        }
    }
    Ok(conversation)
}

async fn chat_documents(store: &Store, c: &Contact) -> anyhow::Result<Vec<search::SearchDocument>> {
    let Some(conversation) = chat_conversation(store, c).await? else {
        return Ok(Vec::new());
    };
    let messages = store.list_chat_messages(c.org, &conversation.id, 0, MAX_TEXTS_PER_CONTACT).await?;
    Ok(messages
        .iter()
        .filter(|m| m.author != ChatAuthor::System && !m.text.trim().is_empty())
        .map(|m| {
            let ordinal = u32::try_from(m.seq).unwrap_or(u32::MAX);
            let mut doc = document(c, search::DocumentKind::ChatMessage, ordinal, &m.text);
            doc.at = m.sent_at;
            doc.speaker = Some(match m.author {
                ChatAuthor::Agent => search::Speaker::Agent,
                _ => search::Speaker::Customer,
            });
            doc
        })
        .collect())
}

async fn email_documents(store: &Store, c: &Contact) -> anyhow::Result<Vec<search::SearchDocument>> {
    let messages = store.list_email_messages(c.org, c.id, MAX_TEXTS_PER_CONTACT).await?;
    Ok(messages
        .iter()
        .enumerate()
        .map(|(n, m)| {
            let text = format!("{}\n{}", m.subject, m.body_text);
            let mut doc = document(c, search::DocumentKind::Email, u32::try_from(n).unwrap_or(u32::MAX), &text);
            doc.at = m.at;
            doc.speaker = Some(match m.direction {
                EmailDirection::Inbound => search::Speaker::Customer,
                EmailDirection::Outbound => search::Speaker::Agent,
            });
            doc
        })
        .collect())
}

/// The messages in and out of the contact's WeChat, Weibo or webhook conversation, in time order;
/// an outbound one whatever its delivery, since the agent wrote it.
async fn social_documents(store: &Store, c: &Contact) -> anyhow::Result<Vec<search::SearchDocument>> {
    let messages = store.list_social_messages(c.org, c.id, MAX_TEXTS_PER_CONTACT).await?;
    Ok(social_message_documents(c, &messages))
}

fn social_message_documents(c: &Contact, messages: &[store::SocialMessage]) -> Vec<search::SearchDocument> {
    messages
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.text.trim().is_empty())
        .map(|(n, m)| {
            let ordinal = u32::try_from(n).unwrap_or(u32::MAX);
            let mut doc = document(c, search::DocumentKind::ChatMessage, ordinal, &m.text);
            doc.at = m.at;
            doc.speaker = Some(match m.direction {
                SocialDirection::Inbound => search::Speaker::Customer,
                SocialDirection::Outbound => search::Speaker::Agent,
            });
            doc
        })
        .collect()
}

/// The longest prefix of `text` of at most `max_bytes` that ends on a character boundary.
fn cut(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An inbound contact of org 1 at the hotline entry point.
    fn contact(id: u128, channel: Channel, from: &str) -> Contact {
        let at = model::Timestamp::from_unix_ms(1_000);
        Contact::arrived(
            ContactId::from_u128(id),
            OrgId::from_u128(1),
            channel,
            model::Direction::Inbound,
            from,
            "hotline",
            at,
        )
    }

    #[test]
    fn each_rule_flags_the_contact_once_with_the_first_text_that_matched() {
        let c = contact(7, Channel::Chat, "visitor");
        let hit = |rule: &str, keyword: &str| search::RuleHit { rule: rule.into(), keyword: keyword.into() };
        let hits = vec![
            (search::DocumentKind::AgentNote, 0, hit("refund", "退款")),
            (search::DocumentKind::ChatMessage, 3, hit("complaint", "投诉")),
            (search::DocumentKind::ChatMessage, 5, hit("complaint", "complain*")),
            (search::DocumentKind::TranscriptSegment, 1, hit("cancel", "退订")),
        ];
        let now = model::Timestamp::from_unix_ms(2_000);
        let flags = text_flags(&c, hits, now);
        let seen: Vec<(&str, &str, store::FlaggedText, u32)> =
            flags.iter().map(|f| (f.rule.as_str(), f.keyword.as_str(), f.text, f.text_ordinal)).collect();
        assert_eq!(
            seen,
            vec![
                ("refund", "退款", store::FlaggedText::Note, 0),
                ("complaint", "投诉", store::FlaggedText::ChatMessage, 3),
            ],
            "one flag per rule, the first text; transcripts are the transcriber's"
        );
        assert!(flags.iter().all(|f| f.contact == c.id && f.org == c.org && f.flagged_at == now));
    }

    #[test]
    fn social_messages_are_chat_lines_spoken_by_the_customer_in_and_the_agent_out() {
        let c = contact(9, Channel::WeChat, "oCustomer42");
        let message = |n: i64, direction: SocialDirection, text: &str| store::SocialMessage {
            org: c.org,
            id: format!("m{n}"),
            contact: c.id,
            channel: Channel::WeChat,
            direction,
            peer_id: "oCustomer42".into(),
            text: text.into(),
            status: store::SocialStatus::Received,
            failure_reason: None,
            attempts: 0,
            at: model::Timestamp::from_unix_ms(1_000 + n),
            updated_at: model::Timestamp::from_unix_ms(1_000 + n),
        };
        let long = "快".repeat(MAX_INDEXED_TEXT_BYTES); // three bytes each
        let messages = [
            message(0, SocialDirection::Inbound, "我要投诉"),
            message(1, SocialDirection::Outbound, " "),
            message(2, SocialDirection::Outbound, "您好"),
            message(3, SocialDirection::Inbound, &long),
        ];
        let docs = social_message_documents(&c, &messages);
        let seen: Vec<(u32, Option<search::Speaker>, i64, usize)> =
            docs.iter().map(|d| (d.ordinal, d.speaker, d.at.unix_ms(), d.text.len())).collect();
        let (customer, agent) = (Some(search::Speaker::Customer), Some(search::Speaker::Agent));
        assert_eq!(
            seen,
            vec![(0, customer, 1_000, 12), (2, agent, 1_002, 6), (3, customer, 1_003, MAX_INDEXED_TEXT_BYTES - 1)],
            "blank lines skipped, the place in the conversation kept, long text cut"
        );
        assert!(docs.iter().all(|d| d.kind == search::DocumentKind::ChatMessage && d.channel == Channel::WeChat));
    }

    #[test]
    fn a_long_text_is_cut_on_a_character_boundary() {
        assert_eq!(cut("退款退款", 7), "退款");
        assert_eq!(cut("refund", 64), "refund");
        assert_eq!(cut("退", 2), "");
    }
}
