//! The customer-service client driven over real HTTP against a local server that follows the published
//! protocol (`/cgi-bin/token`, `/cgi-bin/message/custom/send`, errcode 42001 for an expired token).
//! The test plays the shell: it performs the requests the sans-IO client asks for with a tiny HTTP/1.1
//! client. The server binds 127.0.0.1, serves a fixed number of requests and stops by itself.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use model::Timestamp;
use social::outbox::RetryPolicy;
use social::wechat::api::{ApiConfig, ApiEvent, CustomerServiceClient, OutboundContent};
use social::{HttpRequest, HttpResponse, Method};

/// Serves `count` requests: tokens TOKEN-1, TOKEN-2...; a send with TOKEN-1 answers 42001 (expired).
fn spawn_server(count: usize) -> (u16, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, seen_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tokens_issued = 0;
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let (target, body) = read_request(&mut stream);
            let answer = if target.starts_with("/cgi-bin/token?grant_type=client_credential&appid=wxAPP&secret=SECRET")
            {
                tokens_issued += 1;
                format!(r#"{{"access_token":"TOKEN-{tokens_issued}","expires_in":7200}}"#)
            } else if target == "/cgi-bin/message/custom/send?access_token=TOKEN-1" {
                r#"{"errcode":42001,"errmsg":"access_token expired"}"#.to_owned()
            } else if target.starts_with("/cgi-bin/message/custom/send?access_token=TOKEN-") {
                r#"{"errcode":0,"errmsg":"ok"}"#.to_owned()
            } else {
                r#"{"errcode":40013,"errmsg":"invalid appid"}"#.to_owned()
            };
            let _ = seen_tx.send((target, body));
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    (port, seen_rx)
}

fn read_request(stream: &mut TcpStream) -> (String, String) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header.trim().is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (target, String::from_utf8(body).unwrap())
}

/// What the web crate's HTTP client would do, in 20 lines.
fn perform(request: &HttpRequest) -> HttpResponse {
    let rest = request.url.strip_prefix("http://").unwrap();
    let (authority, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let method = if request.method == Method::Get { "GET" } else { "POST" };
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (k, v) in &request.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&request.body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    HttpResponse { status, body: body.as_bytes().to_vec() }
}

#[test]
fn message_reaches_a_local_protocol_server_after_an_expired_token_is_refreshed() {
    let (port, seen) = spawn_server(4);
    let mut client = CustomerServiceClient::new(ApiConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        app_id: "wxAPP".into(),
        app_secret: "SECRET".into(),
        token_margin_ms: 300_000,
        token_retry_ms: 1_000,
        max_queued_messages: 10,
        retry: RetryPolicy { max_attempts: 3, initial_backoff_ms: 100, max_backoff_ms: 1_000 },
        max_response_bytes: 64 * 1024,
    });
    let id = client.send("oOPENID", OutboundContent::Text("您的工单已处理".into())).unwrap();
    let now = Timestamp::from_unix_ms(1_764_222_000_000);
    let mut requests = 0;
    while let Some(request) = client.poll_request(now) {
        requests += 1;
        assert!(requests <= 4, "no request storm");
        let response = perform(&request);
        client.handle_response(now, request.id, Some(response));
    }
    assert_eq!(client.poll_event(), Some(ApiEvent::Delivered { id }));
    let seen: Vec<(String, String)> = seen.try_iter().collect();
    let targets: Vec<&str> = seen.iter().map(|(t, _)| t.split('?').next().unwrap()).collect();
    assert_eq!(
        targets,
        ["/cgi-bin/token", "/cgi-bin/message/custom/send", "/cgi-bin/token", "/cgi-bin/message/custom/send"]
    );
    let body: serde_json::Value = serde_json::from_str(&seen[3].1).unwrap();
    assert_eq!(body, serde_json::json!({"touser":"oOPENID","msgtype":"text","text":{"content":"您的工单已处理"}}));
}
