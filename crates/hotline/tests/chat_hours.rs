//! The web chat follows a business-hours calendar (`[chat] calendar`), through the real binary:
//! the widget's WebSocket, the admin's calendar API, the agent's desktop API.
//!
//! - Before the calendar exists the chat is closed, even with an agent available: the customer
//!   is told so in their language and their chat is a message left for later.
//! - The admin creates the calendar open all week: the next chat is answered live and offered to
//!   the available agent, without a restart.
//! - The admin closes every day: the next chat is a message left for later again.

mod common;

use common::server::{Launch, Server, eventually};
use common::session::Session;
use common::widget::{say, until, widget};
use serde_json::{Value, json};

const CLOSED_EN: &str = "We are closed right now. Leave a message and we will reply by email during business hours.";
const CLOSED_ZH: &str = "现在是非工作时间。请留言,我们会在工作时间通过邮件回复您。";
const QUEUED_EN: &str = "Connecting you to an agent, please wait.";

/// A customer starts a chat in `language`; returns the system notice they were sent.
fn start_chat(server: &Server, language: &str) -> String {
    let mut ws = widget(&server.base);
    say(&mut ws, json!({"type": "hello", "v": 1}));
    until(&mut ws, "welcome");
    say(&mut ws, json!({"type": "prechat", "name": "Li Lei", "issue_type": "order", "language": language}));
    loop {
        let m = until(&mut ws, "msg");
        if m["from"] == "system" {
            return m["text"].as_str().expect("text").to_owned();
        }
    }
}

fn calendar(weekly: Value) -> Value {
    json!({"time_zone": "Asia/Shanghai", "weekly": weekly})
}

#[test]
fn chats_follow_the_configured_calendar_as_the_admin_edits_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Launch::demo(tmp.path()).config("[chat]\ncalendar = \"chat-hours\"\n").start();
    let agent: Session = server.login("1001", "demo1001");
    let admin = server.login("admin", "demoadmin");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let before = agent.my_contacts("1001");

    // No such calendar yet: closed, whoever is available.
    assert_eq!(start_chat(&server, "en"), CLOSED_EN);
    assert_eq!(start_chat(&server, "zh-CN"), CLOSED_ZH);

    let all_day = json!({"mon": "00:00-24:00", "tue": "00:00-24:00", "wed": "00:00-24:00", "thu": "00:00-24:00",
        "fri": "00:00-24:00", "sat": "00:00-24:00", "sun": "00:00-24:00"});
    admin.ok("PUT", "/api/calendars/chat-hours", Some(calendar(all_day)));
    assert_eq!(start_chat(&server, "en"), QUEUED_EN);
    let offered = eventually(30, "the chat offered to 1001", || {
        let now = agent.my_contacts("1001");
        let new: Vec<String> = now.into_iter().filter(|c| !before.contains(c)).collect();
        (!new.is_empty()).then_some(new)
    });
    assert_eq!(offered.len(), 1, "only the chat within hours is offered: {offered:?}");

    admin.ok("PUT", "/api/calendars/chat-hours", Some(calendar(json!({}))));
    assert_eq!(start_chat(&server, "en"), CLOSED_EN);
    server.stop();
}
