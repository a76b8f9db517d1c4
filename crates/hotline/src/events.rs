//! The one reader of the center's live events inside the binary's own services: it reads the
//! broadcast once and hands each consumer only what it acts on, through its own bounded queue:
//!
//! - the recording services (`crate::recordings`: sealing, transcription, speech analytics) get
//!   each ended contact;
//! - the search worker (`crate::search_texts`: chat, email and wrap-up note texts) gets each
//!   contact that was answered (chat and email), ended, or finished wrap-up with a disposition;
//! - the complaint alerts (`web::alerts::AlertService`) get the wrap-ups with a disposition.
//!
//! Never: wait on a consumer (a full queue drops the item, logged with the consumer's name), or
//! pass on another org's events. A lag on the broadcast itself is logged with the count missed.

use center::{CenterHandle, LiveEvent};
use model::{Channel, ContactId, OrgId};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::search_texts::TextSink;

/// Who gets what; a consumer that is `None` is not running.
#[derive(Default)]
pub struct Consumers {
    /// Ended contacts, for the recording services.
    pub ended: Option<mpsc::Sender<ContactId>>,
    /// Contacts whose texts may have changed, for the search worker.
    pub search: Option<TextSink>,
    /// Wrap-ups with a disposition, for the complaint alerts.
    pub alerts: Option<mpsc::Sender<LiveEvent>>,
}

impl Consumers {
    /// Only the search worker (tests).
    #[cfg(test)]
    pub fn search_only(search: TextSink) -> Self {
        Consumers { search: Some(search), ..Consumers::default() }
    }
}

/// The running dispatcher.
pub struct Dispatcher {
    task: JoinHandle<()>,
}

impl Dispatcher {
    /// Subscribes to the center now (so nothing published after this returns is missed) and
    /// dispatches until the center's stream closes or [`Dispatcher::stop`].
    pub fn start(center: &CenterHandle, org: OrgId, consumers: Consumers) -> Dispatcher {
        let events = center.subscribe();
        Dispatcher { task: tokio::spawn(run(events, org, consumers)) }
    }

    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn run(mut events: broadcast::Receiver<LiveEvent>, org: OrgId, consumers: Consumers) {
    loop {
        match events.recv().await {
            Ok(event) if event.org() == org => dispatch(&consumers, event),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the binary's services fell behind the center's live events");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

fn dispatch(c: &Consumers, event: LiveEvent) {
    match &event {
        LiveEvent::ContactEnded { contact, .. } => {
            if let Some(ended) = &c.ended {
                offer(ended, *contact, "recording services");
            }
            if let Some(search) = &c.search {
                search.changed(*contact);
            }
        }
        LiveEvent::ContactAnswered { contact, channel: Channel::Chat | Channel::Email, .. } => {
            if let Some(search) = &c.search {
                search.changed(*contact);
            }
        }
        LiveEvent::WrapUpEnded { contact, disposition: Some(_), .. } => {
            if let Some(search) = &c.search {
                search.changed(*contact);
            }
            if let Some(alerts) = &c.alerts {
                offer(alerts, event.clone(), "complaint alerts");
            }
        }
        _ => {}
    }
}

/// Sends without waiting; a full queue drops the item with a warning naming the consumer.
fn offer<T>(tx: &mpsc::Sender<T>, item: T, consumer: &'static str) {
    if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(item) {
        tracing::warn!(consumer, "queue full; a live event was dropped for it");
    }
}
