//! The agent's wrap-up note as a keyword-search document: once the final agent finished wrap-up
//! with a disposition, the contact's stored notes become one [`search::DocumentKind::AgentNote`]
//! document (ordinal 0: a later wrap-up replaces it). The search worker
//! (`crate::search_texts`) indexes it with the contact's other texts after flushing the center,
//! so the row it reads already carries the disposition.

use model::Contact;

/// The note of a wrapped-up contact; `None` before wrap-up or when the agent wrote nothing.
pub fn note_document(c: &Contact) -> Option<search::SearchDocument> {
    if c.disposition.is_none() || c.notes.trim().is_empty() {
        return None;
    }
    Some(search::SearchDocument {
        org: c.org,
        contact: c.id,
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
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use model::{Channel, ContactOutcome, ReasonCode, Timestamp};
    use store::Store;

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
        let indexer = crate::search_texts::Indexer {
            center: center.clone(),
            store: store.clone(),
            org,
            index: index.clone(),
            rules: Arc::new(search::KeywordRules::standard()),
        };
        let (texts, worker) = crate::search_texts::start(indexer, None);
        let events = crate::events::Dispatcher::start(&center, org, crate::events::Consumers::search_only(texts));
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
        events.stop().await;
        worker.abort();
    }
}
