//! `GET /api/contacts/{id}/email/messages` over real HTTP on a real SQLite store: the contact's
//! thread (inbound and our reply) is served oldest first to its agent and to staff with every
//! field the desktop shows; another agent gets 404; a contact without email answers an empty list;
//! the OpenAPI document describes the route.

mod common;

use common::{TestServer, problem};
use model::{ContactId, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};
use store::{EmailDirection, EmailMessage};

async fn get(s: &TestServer, who: &common::Browser, path: &str) -> (u16, Value) {
    let resp = s.as_browser(who, Method::GET, path).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, serde_json::from_str(&resp.text().await.expect("body")).unwrap_or(Value::Null))
}

fn message(contact: ContactId, id: &str, direction: EmailDirection, at_ms: i64) -> EmailMessage {
    EmailMessage {
        org: demo::DEMO_ORG,
        message_id: id.into(),
        contact,
        direction,
        from_address: "xiaoming@example.com".into(),
        to_address: "support@shop.test".into(),
        subject: "订单还没到".into(),
        in_reply_to: None,
        references: Vec::new(),
        body_text: "您好，我的订单 <b>还没到</b>。".into(),
        at: Timestamp::from_unix_ms(at_ms),
    }
}

#[tokio::test]
async fn a_contacts_email_thread_is_served_to_its_agent_and_staff_only() {
    let s = common::start().await;
    let a = common::seed_activity(&s.store).await;
    let t0 = common::T0.unix_ms();
    // Stored out of order: the route answers oldest first.
    let mut reply = message(a.contact_1001, "r1@shop.test", EmailDirection::Outbound, t0 + 60_000);
    reply.from_address = "support@shop.test".into();
    reply.to_address = "xiaoming@example.com".into();
    reply.subject = "Re: 订单还没到".into();
    reply.in_reply_to = Some("c1@example.com".into());
    reply.references = vec!["c1@example.com".into()];
    reply.body_text = "已为您查询。".into();
    s.store.insert_email_message(&reply).await.expect("reply");
    let first = message(a.contact_1001, "c1@example.com", EmailDirection::Inbound, t0);
    s.store.insert_email_message(&first).await.expect("first");

    let path = format!("/api/contacts/{}/email/messages", a.contact_1001);
    for who in [s.agent("1001").await, s.supervisor().await, s.admin().await] {
        let (status, body) = get(&s, &who, &path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["contact"], a.contact_1001.to_string());
        let messages = body["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 2, "{body}");
        assert_eq!(
            messages[0],
            json!({
                "message_id": "c1@example.com",
                "direction": "inbound",
                "from": "xiaoming@example.com",
                "to": "support@shop.test",
                "subject": "订单还没到",
                "at_ms": t0,
                "text": "您好，我的订单 <b>还没到</b>。",
                "in_reply_to": null,
                "references": [],
                "attachments": [],
            })
        );
        assert_eq!(messages[1]["message_id"], "r1@shop.test");
        assert_eq!(messages[1]["direction"], "outbound");
        assert_eq!(messages[1]["in_reply_to"], "c1@example.com");
        assert_eq!(messages[1]["references"], json!(["c1@example.com"]));
        assert_eq!(messages[1]["at_ms"], t0 + 60_000);
    }
    let other = s.agent("1002").await;
    let (status, _) = problem(s.as_browser(&other, Method::GET, &path).send().await.expect("get")).await;
    assert_eq!(status, 404, "another agent must not learn the contact exists");
    let sup = s.supervisor().await;
    let (status, body) = get(&s, &sup, &format!("/api/contacts/{}/email/messages", a.contact_1002)).await;
    assert_eq!((status, body["messages"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    let (status, _) = get(&s, &sup, "/api/contacts/not-an-id/email/messages").await;
    assert_eq!(status, 404, "a malformed id names nothing that exists");
}

#[tokio::test]
async fn the_openapi_document_describes_the_email_thread() {
    let s = common::start().await;
    let doc: Value = s.anon(Method::GET, "/api/openapi.json").send().await.expect("get").json().await.expect("json");
    let op = &doc["paths"]["/api/contacts/{id}/email/messages"]["get"];
    assert_eq!(op["operationId"], "email_messages");
    assert_eq!(op["description"], "Roles: admin allowed, supervisor allowed, agent own only.");
    let item = &op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["messages"]["items"];
    for field in ["message_id", "direction", "from", "to", "subject", "at_ms", "text", "attachments"] {
        assert!(item["properties"][field].is_object(), "{field} is not documented: {item}");
    }
}

#[tokio::test]
async fn an_attachment_downloads_with_its_chinese_name_only_through_its_own_contact() {
    let files = tempfile::tempdir().expect("tmp");
    let mut config = common::config();
    config.email_attachments_dir = Some(files.path().to_owned());
    let s = common::start_with(config).await;
    let a = common::seed_activity(&s.store).await;
    let m = message(a.contact_1001, "c2@example.com", EmailDirection::Inbound, common::T0.unix_ms());
    let bytes: Vec<u8> = b"%PDF-1.4\r\n\x00\xff".iter().copied().chain((0..=255u8).cycle().take(3000)).collect();
    std::fs::create_dir_all(files.path().join("aa")).expect("dir");
    std::fs::write(files.path().join("aa/file"), &bytes).expect("file");
    let kept = store::EmailAttachment {
        org: demo::DEMO_ORG,
        id: uuid::Uuid::from_u128(0xaa01),
        message_id: m.message_id.clone(),
        contact: a.contact_1001,
        part_index: 0,
        filename: Some("发票 1.pdf".into()),
        content_type: "application/pdf".into(),
        size_bytes: bytes.len() as u64,
        fate: store::AttachmentFate::Stored { path: "aa/file".into(), sha256: "0".repeat(64) },
        at: m.at,
    };
    let refused = store::EmailAttachment {
        id: uuid::Uuid::from_u128(0xaa02),
        part_index: 1,
        filename: Some("run.sh".into()),
        fate: store::AttachmentFate::Refused { reason: "type application/x-sh is blocked".into() },
        ..kept.clone()
    };
    s.store.insert_email_message_with_attachments(&m, &[kept.clone(), refused.clone()]).await.expect("store");

    let agent = s.agent("1001").await;
    let (_, thread) = get(&s, &agent, &format!("/api/contacts/{}/email/messages", a.contact_1001)).await;
    let listed = &thread["messages"][0]["attachments"];
    assert_eq!(listed[0]["status"], "stored", "{thread}");
    assert_eq!(listed[0]["filename"], "发票 1.pdf");
    let download = listed[0]["download"].as_str().expect("download").to_owned();
    assert_eq!(download, format!("/api/contacts/{}/email/attachments/{}", a.contact_1001, kept.id));
    assert_eq!(listed[1]["status"], "refused");
    assert_eq!(listed[1]["refused_reason"], "type application/x-sh is blocked");

    let resp = s.as_browser(&agent, Method::GET, &download).send().await.expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"__ 1.pdf\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8%201.pdf"
    );
    assert_eq!(resp.bytes().await.expect("body").to_vec(), bytes, "not byte-identical");

    // The same attachment named under another contact, a refused one, another agent: 404.
    let sup = s.supervisor().await;
    let elsewhere = format!("/api/contacts/{}/email/attachments/{}", a.contact_1002, kept.id);
    let (status, _) = problem(s.as_browser(&sup, Method::GET, &elsewhere).send().await.expect("get")).await;
    assert_eq!(status, 404, "an attachment was served under a contact it does not belong to");
    let refused_path = format!("/api/contacts/{}/email/attachments/{}", a.contact_1001, refused.id);
    let (status, body) = problem(s.as_browser(&sup, Method::GET, &refused_path).send().await.expect("get")).await;
    assert_eq!(status, 404);
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("blocked")), "{body}");
    let other = s.agent("1002").await;
    let (status, _) = problem(s.as_browser(&other, Method::GET, &download).send().await.expect("get")).await;
    assert_eq!(status, 404, "another agent downloaded the attachment");
}
