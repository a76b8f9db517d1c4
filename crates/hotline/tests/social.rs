//! The social channels through the real binary (`hotline demo` with `[social]`), against local HTTP
//! servers written here that follow the published protocols:
//! - a signed WeChat text becomes a contact offered to the available agent, who answers twice over
//!   HTTP: the customer-service API server gets both with the one access token fetched once; a third
//!   answer refused with errcode 42001 (token expired) makes exactly one new token request and is
//!   delivered with the new token. Each message is listed with its status.
//! - the generic webhook channel refuses a forged signature (401, counted in `/api/metrics`), an
//!   oversized body (413) and a sender's flood (429), takes a signed message as a `webhook` contact
//!   linked to a customer by the sender id, and the agent's reply POSTed, signed, to the reply URL is
//!   retried after a 500 and then delivered. A signed Weibo push becomes a `weibo` contact whose
//!   reply reaches the Weibo API.
//! - a webhook reply refused (503) while Hotline stops with SIGTERM stays `queued`; at the next start
//!   on the same data directory, with the receiver accepting, it is sent again and arrives exactly
//!   once, `sent`; a reply left queued longer than `social.max_reply_age_ms` is marked `failed` with
//!   the reason and never sent.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::server::Server;
use common::session::Session;
use common::wechat::{self, unix_s};
use serde_json::{Value, json};

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// One request a local server received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn decode(s: &str) -> String {
    social::http::percent_decode(s)
}

/// A minimal HTTP/1.1 server: each request goes to `answer` (status, JSON body) and to the channel.
fn http_server(answer: impl Fn(&Received) -> (u16, String) + Send + Sync + 'static) -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind server");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (tx, answer) = (tx.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_owned();
                let target = parts.next().unwrap_or("").to_owned();
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    }
                }
                let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                let mut body = vec![0u8; length];
                reader.read_exact(&mut body).expect("body");
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let query =
                    query.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect();
                let received = Received { method, path: path.to_owned(), query, headers, body };
                let (status, text) = (answer.as_ref())(&received);
                let _ = tx.send(received);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    (port, rx)
}

fn next_request(rx: &mpsc::Receiver<Received>, what: &str) -> Received {
    rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("the server never received {what}"))
}

/// `hotline demo` with `social` as its `[social]` section.
fn start(dir: &Path, social: &str) -> Server {
    Server::start(dir, Some(&format!("[social]\n{social}")))
}

/// The contact's social messages, as `session` lists them.
fn messages(session: &Session, contact: &str) -> Vec<Value> {
    let v = session.ok("GET", &format!("/api/contacts/{contact}/social/messages"), None);
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the message `id` on `contact` is no longer queued; the message.
fn settled(session: &Session, contact: &str, id: &str) -> Value {
    wait_for("the reply's delivery to settle", || {
        messages(session, contact).into_iter().find(|m| m["id"] == id && m["status"] != "queued")
    })
}

#[test]
fn agent_replies_to_a_wechat_text_reach_the_customer_service_api_with_one_cached_token_refreshed_once_on_expiry() {
    let token_requests = Arc::new(Mutex::new(0u32));
    let sends = Arc::new(Mutex::new(0u32));
    let (tokens, sends_seen) = (token_requests.clone(), sends.clone());
    let (api_port, api) = http_server(move |r| match r.path.as_str() {
        "/cgi-bin/token" => {
            let mut n = tokens.lock().expect("lock");
            *n += 1;
            (200, json!({"access_token": format!("TOKEN{n}"), "expires_in": 7200}).to_string())
        }
        "/cgi-bin/message/custom/send" => {
            let mut n = sends_seen.lock().expect("lock");
            *n += 1;
            // The third message finds its token expired (as WeChat answers when the token was reset).
            if *n == 3 {
                (200, json!({"errcode": 42001, "errmsg": "access_token expired"}).to_string())
            } else {
                (200, json!({"errcode": 0, "errmsg": "ok"}).to_string())
            }
        }
        _ => (404, "{}".to_owned()),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let wechat_token = "hotlineWeChat42";
    let server = start(
        dir.path(),
        &format!(
            "wechat_token = \"{wechat_token}\"\nwechat_app_id = \"wxapp42\"\nwechat_app_secret = \"appsecret42\"\n\
             wechat_api_base = \"http://127.0.0.1:{api_port}\"\nreply_initial_backoff_ms = 100\n"
        ),
    );
    let agent = server.login("1001", "demo1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let supervisor = server.login("supervisor", "demosuper");

    // The customer writes to the official account.
    let now_s = unix_s();
    let r =
        wechat::callback(&server.base, wechat_token, wechat::text("oCustomer42", "我的订单还没到", 1234567890123456));
    assert_eq!(r.status().as_u16(), 200);

    let contact = wait_for("the WeChat text offered to agent 1001", || agent.my_contacts("1001").into_iter().next());
    agent.ok("POST", &format!("/api/contacts/{contact}/accept"), None);
    let listed = messages(&agent, &contact);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (&listed[0]["direction"], &listed[0]["channel"], &listed[0]["peer_id"], &listed[0]["text"]),
        (&json!("in"), &json!("wechat"), &json!("oCustomer42"), &json!("我的订单还没到"))
    );

    // A photo, a voice message, a shared place and a shared link (the documented XML shapes) join
    // the same conversation as lines the agent can read; nothing the customer sent is dropped.
    let callback = |xml: String| wechat::callback(&server.base, wechat_token, xml);
    let image = format!(
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[oCustomer42]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime><MsgType><![CDATA[image]]></MsgType>\
         <PicUrl><![CDATA[http://mmbiz.qpic.cn/parcel42.jpg]]></PicUrl><MediaId><![CDATA[media_img_42]]></MediaId>\
         <MsgId>1234567890123457</MsgId></xml>"
    );
    let voice = format!(
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[oCustomer42]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime><MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_voice_42]]></MediaId>\
         <Format><![CDATA[amr]]></Format><Recognition><![CDATA[包裹破了]]></Recognition>\
         <MsgId>1234567890123458</MsgId></xml>"
    );
    let location = format!(
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[oCustomer42]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime><MsgType><![CDATA[location]]></MsgType><Location_X>31.230416</Location_X>\
         <Location_Y>121.473701</Location_Y><Scale>15</Scale><Label><![CDATA[上海市人民广场]]></Label>\
         <MsgId>1234567890123459</MsgId></xml>"
    );
    let link = format!(
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[oCustomer42]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime><MsgType><![CDATA[link]]></MsgType><Title><![CDATA[订单详情]]></Title>\
         <Description><![CDATA[订单 42]]></Description><Url><![CDATA[https://shop.example.com/orders/42]]></Url>\
         <MsgId>1234567890123460</MsgId></xml>"
    );
    for xml in [image, voice, location, link] {
        let r = callback(xml);
        assert_eq!((r.status().as_u16(), r.text().expect("body")), (200, "success".to_owned()));
    }
    let texts = wait_for("the photo, voice, place and link on the conversation", || {
        let texts: Vec<String> =
            messages(&agent, &contact).iter().filter_map(|m| m["text"].as_str().map(str::to_owned)).collect();
        (texts.len() == 5).then_some(texts)
    });
    assert_eq!(
        texts,
        [
            "我的订单还没到".to_owned(),
            "[图片 image] http://mmbiz.qpic.cn/parcel42.jpg (media media_img_42)".to_owned(),
            "[语音 voice] 包裹破了".to_owned(),
            "[位置 location] 上海市人民广场 (31.230416, 121.473701)".to_owned(),
            "[链接 link] 订单详情 https://shop.example.com/orders/42".to_owned()
        ]
    );
    assert_eq!(agent.my_contacts("1001"), vec![contact.clone()], "they joined the open contact, no new one");

    // A new follower gets the passive welcome reply (the default text) in the response, and no contact.
    let subscribe = format!(
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[oFollower7]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>"
    );
    let r = callback(subscribe);
    assert_eq!(r.status().as_u16(), 200);
    let reply = r.text().expect("body");
    for part in [
        "<ToUserName><![CDATA[oFollower7]]></ToUserName>",
        "<FromUserName><![CDATA[gh_shop]]></FromUserName>",
        "<MsgType><![CDATA[text]]></MsgType>",
        "欢迎关注",
    ] {
        assert!(reply.contains(part), "{part} in the passive reply: {reply}");
    }
    assert_eq!(agent.my_contacts("1001"), vec![contact.clone()], "a follow makes no contact");

    // Two replies: one token request, both sends carry it.
    let mut sent_texts = Vec::new();
    for text in ["您好，我们正在查询。", "您的包裹明天到。"] {
        let queued = agent.ok("POST", &format!("/api/contacts/{contact}/social/reply"), Some(json!({"text": text})));
        assert_eq!(queued["status"], "queued", "{queued}");
        let done = settled(&agent, &contact, queued["id"].as_str().expect("id"));
        assert_eq!(done["status"], "sent", "{done}");
        sent_texts.push(text);
    }
    let token_request = next_request(&api, "the token request");
    assert_eq!(token_request.path, "/cgi-bin/token");
    assert_eq!(token_request.query.get("grant_type").map(String::as_str), Some("client_credential"));
    assert_eq!(token_request.query.get("appid").map(String::as_str), Some("wxapp42"));
    assert_eq!(token_request.query.get("secret").map(String::as_str), Some("appsecret42"));
    for text in &sent_texts {
        let send = next_request(&api, "a customer-service message");
        assert_eq!((send.method.as_str(), send.path.as_str()), ("POST", "/cgi-bin/message/custom/send"));
        assert_eq!(send.query.get("access_token").map(String::as_str), Some("TOKEN1"));
        let body: Value = serde_json::from_slice(&send.body).expect("json body");
        assert_eq!(body, json!({"touser": "oCustomer42", "msgtype": "text", "text": {"content": text}}));
    }
    assert_eq!(*token_requests.lock().expect("lock"), 1, "the token is fetched once for two replies");

    // The third reply is refused for an expired token: one refresh, then delivered with the new token.
    let queued =
        agent.ok("POST", &format!("/api/contacts/{contact}/social/reply"), Some(json!({"text": "还有问题吗？"})));
    let done = settled(&agent, &contact, queued["id"].as_str().expect("id"));
    assert_eq!((&done["status"], &done["attempts"]), (&json!("sent"), &json!(2)), "{done}");
    let refused = next_request(&api, "the send refused for the expired token");
    assert_eq!(refused.query.get("access_token").map(String::as_str), Some("TOKEN1"));
    let refresh = next_request(&api, "the token refresh");
    assert_eq!(refresh.path, "/cgi-bin/token");
    let resent = next_request(&api, "the send with the new token");
    assert_eq!(resent.query.get("access_token").map(String::as_str), Some("TOKEN2"));
    assert_eq!(serde_json::from_slice::<Value>(&resent.body).expect("json")["text"]["content"], "还有问题吗？");
    assert_eq!(*token_requests.lock().expect("lock"), 2, "exactly one refresh");

    // The conversation as listed: five in (text, photo, voice, place, link), three out, all sent;
    // staff see it, another agent does not.
    let all = messages(&supervisor, &contact);
    let shape: Vec<(String, String)> = all
        .iter()
        .map(|m| (m["direction"].as_str().unwrap_or("").to_owned(), m["status"].as_str().unwrap_or("").to_owned()))
        .collect();
    let expected = [
        ("in", "received"),
        ("in", "received"),
        ("in", "received"),
        ("in", "received"),
        ("in", "received"),
        ("out", "sent"),
        ("out", "sent"),
        ("out", "sent"),
    ];
    assert_eq!(shape, expected.map(|(d, s)| (d.to_owned(), s.to_owned())).to_vec());
    let other = server.login("1002", "demo1002");
    let (status, _) = other.call("GET", &format!("/api/contacts/{contact}/social/messages"), None);
    assert_eq!(status, 404, "another agent may not read this conversation");
    let (status, _) = other.call("POST", &format!("/api/contacts/{contact}/social/reply"), Some(json!({"text": "hi"})));
    assert_eq!(status, 404, "another agent may not answer it");
}

fn signed_post(base: &str, path: &str, secret: &str, timestamp: &str, body: &[u8]) -> reqwest::blocking::Response {
    let signature = social::webhook::sign(secret.as_bytes(), timestamp, body);
    reqwest::blocking::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .header("X-Hotline-Timestamp", timestamp)
        .header("X-Hotline-Signature", signature)
        .body(body.to_vec())
        .send()
        .expect("post")
}

fn metric(session: &Session, line_prefix: &str) -> Option<u64> {
    let text = session.bytes("/api/metrics");
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines().find(|l| l.starts_with(line_prefix)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn signed_webhook_and_weibo_messages_become_contacts_forgeries_are_refused_and_a_reply_is_retried_until_delivered() {
    let hook_posts = Arc::new(Mutex::new(0u32));
    let seen = hook_posts.clone();
    let (out_port, out) = http_server(move |r| match r.path.as_str() {
        "/replies" => {
            let mut n = seen.lock().expect("lock");
            *n += 1;
            // The receiver fails once, then takes the reply.
            if *n == 1 { (500, "{}".to_owned()) } else { (200, "{}".to_owned()) }
        }
        "/2/messages/reply.json" => (200, json!({"result": true}).to_string()),
        _ => (404, "{}".to_owned()),
    });
    let (hook_secret, weibo_secret) = ("hookSecret42", "weiboSecret42");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(
        dir.path(),
        &format!(
            "webhook_name = \"shopapp\"\nwebhook_secret = \"{hook_secret}\"\n\
             webhook_reply_url = \"http://127.0.0.1:{out_port}/replies\"\n\
             weibo_secret = \"{weibo_secret}\"\nweibo_access_token = \"wbToken42\"\n\
             weibo_api_base = \"http://127.0.0.1:{out_port}\"\n\
             max_body_bytes = 4096\nmax_messages_per_sender_per_minute = 3\n\
             reply_initial_backoff_ms = 200\nreply_max_backoff_ms = 1000\n"
        ),
    );
    let agent = server.login("1001", "demo1001");
    agent.ok("PUT", "/api/me/state", Some(json!({"state": "available"})));
    let supervisor = server.login("supervisor", "demosuper");
    let ts = unix_s().to_string();
    let message =
        json!({"id": "evt-1", "from": {"id": "customer-7", "name": "Alice Chen"}, "text": "Where is my parcel?"});
    let body = message.to_string().into_bytes();

    // A forged signature is refused and counted; nothing is taken in.
    let forged = reqwest::blocking::Client::new()
        .post(format!("{}/webhooks/shopapp", server.base))
        .header("X-Hotline-Timestamp", &ts)
        .header("X-Hotline-Signature", format!("sha256={}", "0".repeat(64)))
        .body(body.clone())
        .send()
        .expect("forged");
    assert_eq!(forged.status().as_u16(), 401);
    assert_eq!(metric(&supervisor, "hotline_social_webhook_refused_total{reason=\"signature\"}"), Some(1));
    // A stale timestamp, correctly signed, is refused as well.
    let stale = (unix_s() - 3_600).to_string();
    assert_eq!(signed_post(&server.base, "/webhooks/shopapp", hook_secret, &stale, &body).status().as_u16(), 401);
    // An unknown channel is not there.
    assert_eq!(signed_post(&server.base, "/webhooks/nope", hook_secret, &ts, &body).status().as_u16(), 404);

    // The signed message is taken in as a webhook contact, linked to a customer by the sender id.
    let r = signed_post(&server.base, "/webhooks/shopapp", hook_secret, &ts, &body);
    assert_eq!(r.status().as_u16(), 200);
    let accepted: Value = r.json().expect("json");
    let contact = accepted["contact_id"].as_str().expect("contact_id").to_owned();
    let offered = wait_for("the webhook message offered to agent 1001", || {
        agent.my_contacts("1001").into_iter().find(|c| *c == contact)
    });
    agent.ok("POST", &format!("/api/contacts/{offered}/accept"), None);
    let stored = wait_for("the contact stored", || {
        let (status, v) = supervisor.call("GET", &format!("/api/contacts/{contact}"), None);
        (status == 200).then_some(v)
    });
    assert_eq!((&stored["channel"], &stored["from"]), (&json!("webhook"), &json!("customer-7")), "{stored}");
    let customer = stored["customer_id"].as_str().expect("a customer linked by the sender id").to_owned();
    let found = supervisor.ok("GET", &format!("/api/customers/{customer}"), None);
    assert_eq!(found["name"], "Alice Chen", "{found}");

    // Oversized and flooding bodies are refused with their own statuses.
    let big = json!({"id": "evt-big", "from": {"id": "customer-7"}, "text": "x".repeat(5_000)}).to_string();
    assert_eq!(signed_post(&server.base, "/webhooks/shopapp", hook_secret, &ts, big.as_bytes()).status().as_u16(), 413);
    let mut statuses = Vec::new();
    for i in 0..4 {
        let m = json!({"id": format!("evt-flood-{i}"), "from": {"id": "flooder"}, "text": format!("spam {i}")});
        statuses.push(
            signed_post(&server.base, "/webhooks/shopapp", hook_secret, &ts, m.to_string().as_bytes())
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![200, 200, 200, 429], "the fourth message of a minute from one sender is refused");

    // The agent's reply is POSTed signed to the reply URL: a 500 first, then delivered on the retry.
    let queued =
        agent.ok("POST", &format!("/api/contacts/{contact}/social/reply"), Some(json!({"text": "It ships today."})));
    assert_eq!(queued["status"], "queued");
    let done = settled(&agent, &contact, queued["id"].as_str().expect("id"));
    assert_eq!((&done["status"], &done["attempts"]), (&json!("sent"), &json!(2)), "{done}");
    for attempt in ["the first attempt", "the retry"] {
        let post = next_request(&out, attempt);
        assert_eq!(post.path, "/replies");
        let (ts, sig) = (&post.headers["x-hotline-timestamp"], &post.headers["x-hotline-signature"]);
        assert_eq!(sig, &social::webhook::sign(hook_secret.as_bytes(), ts, &post.body), "signed with the secret");
        let reply: Value = serde_json::from_slice(&post.body).expect("json");
        assert_eq!(
            (&reply["to"], &reply["conversation"], &reply["text"]),
            (&json!("customer-7"), &json!(contact.as_str()), &json!("It ships today."))
        );
        assert_eq!(reply["id"], queued["id"]);
    }

    // A Weibo push (relayed in the webhook shape) becomes a weibo contact; an admin answers through the API.
    let push = json!({"type": "text", "sender_id": 5_678_123_456u64, "receiver_id": 1_000_001u64, "text": "在吗？", "data": {}});
    let r = signed_post(&server.base, "/webhooks/weibo", weibo_secret, &ts, push.to_string().as_bytes());
    assert_eq!(r.status().as_u16(), 200);
    let weibo_contact = r.json::<Value>().expect("json")["contact_id"].as_str().expect("contact").to_owned();
    let listed = messages(&supervisor, &weibo_contact);
    assert_eq!((&listed[0]["channel"], &listed[0]["peer_id"]), (&json!("weibo"), &json!("5678123456")));
    let admin = server.login("admin", "demoadmin");
    let queued =
        admin.ok("POST", &format!("/api/contacts/{weibo_contact}/social/reply"), Some(json!({"text": "在的"})));
    let done = settled(&admin, &weibo_contact, queued["id"].as_str().expect("id"));
    assert_eq!(done["status"], "sent", "{done}");
    let sent = next_request(&out, "the Weibo reply");
    assert_eq!(sent.path, "/2/messages/reply.json");
    let form: HashMap<String, String> = String::from_utf8_lossy(&sent.body)
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    assert_eq!(form.get("access_token").map(String::as_str), Some("wbToken42"));
    assert_eq!(form.get("receiver_id").map(String::as_str), Some("5678123456"));
    assert_eq!(
        form.get("data").map(|d| serde_json::from_str::<Value>(d).expect("json")),
        Some(json!({"text": "在的"}))
    );
    assert_eq!(metric(&supervisor, "hotline_social_webhook_refused_total{reason=\"flood\"}"), Some(1));
}

/// The bodies of the replies the receiver took (200), by message id.
fn taken_ids(taken: &Mutex<Vec<String>>, id: &str) -> usize {
    taken.lock().expect("lock").iter().filter(|t| *t == id).count()
}

#[test]
fn a_reply_still_queued_at_sigterm_is_sent_exactly_once_after_the_restart_and_a_too_old_one_is_failed() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let accepting = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU32::new(0));
    let taken = Arc::new(Mutex::new(Vec::<String>::new()));
    let (accept, refusals, took) = (accepting.clone(), refused.clone(), taken.clone());
    let (out_port, _out) = http_server(move |r| {
        if r.path != "/replies" {
            return (404, "{}".to_owned());
        }
        if !accept.load(Ordering::SeqCst) {
            refusals.fetch_add(1, Ordering::SeqCst);
            return (503, "{}".to_owned());
        }
        let reply: Value = serde_json::from_slice(&r.body).unwrap_or_default();
        took.lock().expect("lock").push(reply["id"].as_str().unwrap_or("").to_owned());
        (200, "{}".to_owned())
    });
    let hook_secret = "hookSecret42";
    let social = format!(
        "webhook_name = \"shopapp\"\nwebhook_secret = \"{hook_secret}\"\n\
         webhook_reply_url = \"http://127.0.0.1:{out_port}/replies\"\n\
         reply_max_attempts = 100\nreply_initial_backoff_ms = 100\nreply_max_backoff_ms = 300\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &social);
    let admin = server.login("admin", "demoadmin");
    let message = json!({"id": "evt-restart", "from": {"id": "customer-9"}, "text": "Is my refund on its way?"});
    let r = signed_post(
        &server.base,
        "/webhooks/shopapp",
        hook_secret,
        &unix_s().to_string(),
        message.to_string().as_bytes(),
    );
    assert_eq!(r.status().as_u16(), 200);
    let contact = r.json::<Value>().expect("json")["contact_id"].as_str().expect("contact_id").to_owned();

    // The receiver refuses: the reply is retried and stays queued while Hotline stops.
    let queued =
        admin.ok("POST", &format!("/api/contacts/{contact}/social/reply"), Some(json!({"text": "Yes, it is."})));
    let reply_id = queued["id"].as_str().expect("id").to_owned();
    wait_for("two refused attempts", || (refused.load(Ordering::SeqCst) >= 2).then_some(()));
    let listed = messages(&admin, &contact);
    let before = listed.iter().find(|m| m["id"] == reply_id.as_str()).expect("the reply listed");
    assert_eq!(before["status"], "queued", "{before}");
    server.stop();

    // A reply left queued three days ago (longer than the default 48 h bound) on the same contact.
    let old_id = "00000000-0000-4000-8000-0000000000aa";
    let (rt, store) = common::server::store_at(dir.path());
    let org = demo::dataset(model::Timestamp::from_unix_ms(0)).org.id;
    let three_days_ago = model::Timestamp::from_unix_ms(common::server::now_ms() - 3 * 86_400_000);
    let old = store::SocialMessage {
        org,
        id: old_id.to_owned(),
        contact: contact.parse().expect("contact id"),
        channel: model::Channel::Webhook,
        direction: store::SocialDirection::Outbound,
        peer_id: "customer-9".into(),
        text: "An answer nobody sent".into(),
        status: store::SocialStatus::Queued,
        failure_reason: None,
        attempts: 0,
        at: three_days_ago,
        updated_at: three_days_ago,
    };
    rt.block_on(store.insert_social_message(&old)).expect("insert the old reply");
    rt.block_on(store.close());
    drop(rt);

    // Started again on the same data directory, with the receiver now accepting.
    accepting.store(true, Ordering::SeqCst);
    let server = start(dir.path(), &social);
    let admin = server.login("admin", "demoadmin");
    let done = settled(&admin, &contact, &reply_id);
    assert_eq!((&done["status"], &done["attempts"]), (&json!("sent"), &json!(1)), "{done}");
    assert_eq!(taken_ids(&taken, &reply_id), 1, "the reply arrived once");
    let expired = settled(&admin, &contact, old_id);
    assert_eq!(expired["status"], "failed", "{expired}");
    let reason = expired["failure_reason"].as_str().unwrap_or("");
    assert!(reason.contains("social.max_reply_age_ms"), "{reason}");
    server.stop();

    // A third start resumes nothing: a new reply arrives, and the first still arrived only once.
    let server = start(dir.path(), &social);
    let admin = server.login("admin", "demoadmin");
    let queued =
        admin.ok("POST", &format!("/api/contacts/{contact}/social/reply"), Some(json!({"text": "Anything else?"})));
    let later = settled(&admin, &contact, queued["id"].as_str().expect("id"));
    assert_eq!(later["status"], "sent", "{later}");
    assert_eq!(taken_ids(&taken, &reply_id), 1, "the delivered reply is never sent again");
    assert_eq!(taken_ids(&taken, old_id), 0, "the too-old reply is never sent");
    server.stop();
}
