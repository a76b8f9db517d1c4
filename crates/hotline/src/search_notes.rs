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

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Channel, ContactOutcome, ReasonCode, Timestamp};

    async fn seeded_store(dir: &std::path::Path) -> Store {
        let url = format!("sqlite://{}/hotline.db", dir.display());
        let store = Store::connect(&url, &store::ConnectOptions::default()).await.expect("connect");
        store.migrate().await.expect("migrate");
        let d = demo::dataset(Timestamp::from_unix_ms(1_800_000_000_000));
        store.insert_org(&d.org).await.expect("org");
        for s in &d.skills {
            store.insert_skill(s).await.expect("skill");
        }
        for q in &d.queues {
            store.insert_queue(q).await.expect("queue");
        }
        for u in &d.users {
            store.insert_user(&model::User { password_hash: "x".into(), ..u.user.clone() }).await.expect("user");
        }
        for a in &d.agents {
            store.insert_agent(a).await.expect("agent");
        }
        for c in &d.customers {
            store.insert_customer(c).await.expect("customer");
        }
        store
    }

    #[tokio::test]
    async fn a_wrap_up_note_becomes_searchable() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = seeded_store(dir.path()).await;
        let org = demo::DEMO_ORG;
        let (center, _task) = center::Center::start(
            store.clone(),
            org,
            &center::demo_routes(),
            center::CenterConfig::default(),
            Arc::new(center::SystemClock),
        )
        .await
        .expect("center starts");
        let index = Arc::new(search::SearchIndex::in_ram(search::IndexConfig::default()).expect("index"));
        let indexer = start(&center, store.clone(), org, index.clone());
        let agent = demo::dataset(Timestamp::from_unix_ms(0))
            .agents
            .into_iter()
            .find(|a| a.extension.as_str() == "1001")
            .expect("agent 1001")
            .id;
        center.set_agent_state(agent, center::Presence::Available).await.expect("available");
        let contact =
            center.submit(center::NewContact::new(Channel::Voice, "hotline", "+8613800000002")).await.expect("submit");
        center.accept(agent, contact).await.expect("accept");
        center.end(contact, ContactOutcome::Answered).await.expect("end");
        let disposition = center::Disposition {
            code: ReasonCode::parse("order_status").expect("code"),
            notes: "客户投诉物流太慢".into(),
        };
        center.wrap_up_done(agent, contact, disposition).await.expect("wrap-up");

        let query = search::SearchQuery { text: "投诉".into(), limit: 10, ..Default::default() };
        let mut hits = Vec::new();
        for _ in 0..50 {
            hits = index.search(org, &query).expect("search").hits;
            if !hits.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(hits.len(), 1, "the note is indexed");
        assert_eq!(hits[0].contact, contact);
        assert_eq!(hits[0].kind, search::DocumentKind::AgentNote);
        assert_eq!(hits[0].agent, Some(agent));
        assert!(hits[0].snippet.to_html().contains("<mark>投诉</mark>"));
        indexer.abort();
    }
}
