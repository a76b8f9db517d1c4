//! Indexes agents' wrap-up notes for keyword search: when the center reports that the final
//! agent finished wrap-up with a disposition, the contact's stored notes become one
//! [`search::DocumentKind::AgentNote`] document (ordinal 0: a later wrap-up replaces it).
//!
//! The center writes the contact row behind its events, so the row is read until it carries the
//! disposition, at most [`NOTE_READ_ATTEMPTS`] times [`NOTE_READ_RETRY_MS`] apart. Failures are
//! logged, never fatal: search simply lacks that note.

use std::sync::Arc;

use center::{CenterHandle, LiveEvent};
use model::{Contact, ContactId, OrgId};
use store::Store;
use tokio::task::JoinHandle;

/// Reads of the contact row while waiting for the center's writer.
const NOTE_READ_ATTEMPTS: u32 = 10;
/// Wait between those reads, in milliseconds.
const NOTE_READ_RETRY_MS: u64 = 200;

/// Starts the indexer; it ends when the center's event stream closes.
pub fn start(center: &CenterHandle, store: Store, org: OrgId, index: Arc<search::SearchIndex>) -> JoinHandle<()> {
    let mut events = center.subscribe();
    tokio::spawn(async move {
        let rules = Arc::new(search::KeywordRules::standard());
        loop {
            match events.recv().await {
                Ok(LiveEvent::WrapUpEnded { org: o, contact, disposition: Some(_), .. }) if o == org => {
                    if let Err(e) = index_note(&store, org, contact, &index, &rules).await {
                        tracing::warn!(%contact, error = %e, "could not index the wrap-up note");
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the notes indexer fell behind the live events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}

async fn index_note(
    store: &Store,
    org: OrgId,
    contact: ContactId,
    index: &Arc<search::SearchIndex>,
    rules: &Arc<search::KeywordRules>,
) -> anyhow::Result<()> {
    let mut row: Option<Contact> = None;
    for attempt in 0..NOTE_READ_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(NOTE_READ_RETRY_MS)).await;
        }
        row = store.get_contact(org, contact).await?;
        if row.as_ref().is_some_and(|c| c.disposition.is_some()) {
            break;
        }
    }
    let Some(c) = row.filter(|c| c.disposition.is_some()) else {
        anyhow::bail!("the contact row has no disposition yet");
    };
    if c.notes.trim().is_empty() {
        return Ok(());
    }
    let doc = search::SearchDocument {
        org,
        contact,
        kind: search::DocumentKind::AgentNote,
        ordinal: 0,
        agent: c.agent,
        queue: c.queue,
        customer: c.customer,
        channel: c.channel,
        at: c.wrap_up_ended_at.unwrap_or(c.arrived_at),
        disposition: c.disposition.clone(),
        csat: c.csat,
        recording_offset_ms: None,
        speaker: None,
        text: c.notes.clone(),
    };
    let (index, rules) = (index.clone(), rules.clone());
    tokio::task::spawn_blocking(move || {
        index.index(&doc, &rules)?;
        index.commit()
    })
    .await??;
    Ok(())
}
