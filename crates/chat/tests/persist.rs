//! Conversations written to a real SQLite store and read back by another server process's hub:
//! a customer connects, talks to an agent, the web server restarts, and the same widget resumes
//! with every message replayed once, its retried message not stored twice, and new messages
//! numbered on from where the old server stopped.

mod support;

use std::time::Duration;

use chat::{Author, ClientFrame, ErrorCode, ServerFrame};
use model::{AgentId, OrgId, Timestamp};
use store::{ChatAuthor, ChatConversationState, ConnectOptions, Store};
use web::chat_ws::ChatSettings;

const ORG: OrgId = OrgId::from_u128(0x0c);

async fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}/hotline.db", dir.path().display());
    let store =
        Store::connect(&url, &ConnectOptions { max_connections: 4, connect_timeout_ms: 10_000 }).await.expect("sqlite");
    store.migrate().await.expect("migrate");
    store
}

fn agent() -> AgentId {
    AgentId::from_u128(1001)
}

fn msgs(frames: &[ServerFrame]) -> Vec<(u64, Author, String)> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Msg { seq, from, text, .. } => Some((*seq, *from, text.clone())),
            _ => None,
        })
        .collect()
}

fn ack_of(frames: &[ServerFrame], id: &str) -> Option<u64> {
    frames.iter().find_map(|f| match f {
        ServerFrame::Ack { client_msg_id, seq } if client_msg_id == id => Some(*seq),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_survives_a_web_server_restart_with_no_loss_and_no_duplicate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sqlite_store(&dir).await;

    // First server: the customer starts, writes twice, an agent answers.
    let first = support::start_with_store(ChatSettings::default(), store.clone(), ORG).await;
    first.hub.set_agent_available(agent(), true).expect("agent");
    let mut customer = support::connect(first.addr).await;
    let (conversation, resume_token) = customer.start_conversation().await;
    let id = chat::ConversationId::parse(&conversation).expect("hex id");
    customer.send(&support::msg("m1", "我的订单还没到")).await;
    customer.until(|f| ack_of(std::slice::from_ref(f), "m1").is_some()).await;
    customer.send(&support::msg("m2", "订单号 DS-1001")).await;
    customer.until(|f| ack_of(std::slice::from_ref(f), "m2").is_some()).await;
    first.hub.accept(&id, agent()).expect("accepted");
    first.hub.agent_send(&id, agent(), "a1", "您好,我来查一下").expect("sent");
    let before = first.hub.transcript(&id, 0).expect("held");
    customer.until(|f| matches!(f, ServerFrame::Msg { from: Author::Agent, .. })).await;
    first.hub.flush_store().await;
    drop(customer);
    drop(first);

    // Second server on the same database: nothing in memory.
    let second = support::start_with_store(ChatSettings::default(), store.clone(), ORG).await;
    second.hub.set_agent_available(agent(), true).expect("agent");
    let mut wrong = support::connect(second.addr).await;
    let forged = "0".repeat(64);
    wrong
        .send(&ClientFrame::Hello {
            v: 1,
            conversation_id: Some(conversation.clone()),
            resume_after_seq: Some(0),
            token: Some(forged),
        })
        .await;
    assert!(
        matches!(wrong.recv().await, ServerFrame::Error { code: ErrorCode::UnknownConversation, .. }),
        "a wrong token restored the conversation"
    );

    let mut again = support::connect(second.addr).await;
    again
        .send(&ClientFrame::Hello {
            v: 1,
            conversation_id: Some(conversation.clone()),
            resume_after_seq: Some(0),
            token: Some(resume_token.clone()),
        })
        .await;
    let ServerFrame::Welcome { last_seq, .. } = again.recv().await else { panic!("welcome first") };
    let replayed = again.until(|f| matches!(f, ServerFrame::Msg { seq, .. } if *seq == last_seq)).await;
    let old: Vec<(u64, Author, String)> = before.iter().map(|e| (e.seq, e.from, e.text.clone())).collect();
    assert_eq!(msgs(&replayed)[..old.len()], old[..], "the replay is the old transcript, in order, once");

    // The widget retries m2 (its ack was lost with the old socket) and writes m3.
    again.send(&support::msg("m2", "订单号 DS-1001")).await;
    again.send(&support::msg("m3", "谢谢")).await;
    let after = again.until(|f| ack_of(std::slice::from_ref(f), "m3").is_some()).await;
    let m2 = before.iter().find(|e| e.client_msg_id.as_deref() == Some("m2")).expect("m2 stored").seq;
    assert_eq!(ack_of(&after, "m2"), Some(m2), "the retry is acknowledged with its first number");
    assert_eq!(ack_of(&after, "m3"), Some(last_seq + 1), "numbers go on where the old server stopped");
    second.hub.flush_store().await;

    let stored = store.list_chat_messages(ORG, &conversation, 0, 1_000).await.expect("transcript");
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=last_seq + 1).collect::<Vec<u64>>(), "no gap, no duplicate");
    let customer_ids: Vec<&str> =
        stored.iter().filter(|m| m.author == ChatAuthor::Customer).filter_map(|m| m.client_msg_id.as_deref()).collect();
    assert_eq!(customer_ids, vec!["m1", "m2", "m3"]);
    let row = store.get_chat_conversation(ORG, &conversation).await.expect("read").expect("row");
    assert_eq!(row.state, ChatConversationState::Queued, "the lost agent is waited for again");
    assert!(row.token_sha256.len() == 64 && row.token_sha256 != resume_token, "only a digest is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rating_and_read_marks_are_stored_on_the_conversation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sqlite_store(&dir).await;
    let server = support::start_with_store(ChatSettings::default(), store.clone(), ORG).await;
    server.hub.set_agent_available(agent(), true).expect("agent");
    let mut customer = support::connect(server.addr).await;
    let (conversation, _) = customer.start_conversation().await;
    customer.send(&support::msg("m1", "hello")).await;
    customer.until(|f| ack_of(std::slice::from_ref(f), "m1").is_some()).await;
    customer.send(&ClientFrame::Read { up_to_seq: 2 }).await;
    customer.send(&ClientFrame::Leave).await;
    customer.until(|f| matches!(f, ServerFrame::Ended)).await;
    customer.send(&ClientFrame::Rate { score: 4, comment: Some("快".into()) }).await;
    // The rating has no reply frame: wait until the store has it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let row = loop {
        server.hub.flush_store().await;
        let row = store.get_chat_conversation(ORG, &conversation).await.expect("read").expect("row");
        if row.rating.is_some() || tokio::time::Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((row.rating, row.rating_comment.as_deref()), (Some(4), Some("快")));
    assert_eq!(row.customer_read_seq, 2);
    assert_eq!(row.state, ChatConversationState::Ended);
    assert!(row.ended_at.is_some_and(|t| t >= Timestamp::from_unix_ms(0)));
}
