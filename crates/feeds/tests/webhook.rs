//! The webhook poster against a real HTTP receiver on 127.0.0.1 (a tiny HTTP/1.1 server written
//! here on tokio's TCP): signed POSTs, retries after a 5xx, no retry after a 4xx, and the
//! bounded queue.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use feeds::{FeedError, WebhookConfig, WebhookPoster};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &[u8] = b"webhook-secret-0123456789";

/// One request as received: lower-cased headers and the body.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Answers each request with the next status of `statuses` (the last one repeats).
async fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/alerts", listener.local_addr().expect("addr"));
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&got);
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(serve(conn, Arc::clone(&seen), statuses.clone()));
        }
    });
    (url, got)
}

async fn serve(mut conn: TcpStream, seen: Arc<Mutex<Vec<Received>>>, statuses: Vec<u16>) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize =
            headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        let n = {
            let mut seen = seen.lock().expect("lock");
            seen.push(Received { headers, body });
            seen.len()
        };
        let status = statuses.get(n - 1).or(statuses.last()).copied().unwrap_or(200);
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
        if conn.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn config(url: String, max_retries: u32, max_pending: usize) -> WebhookConfig {
    WebhookConfig { url, secret: SECRET.to_vec(), timeout_ms: 2_000, max_retries, max_pending }
}

async fn wait_for(got: &Arc<Mutex<Vec<Received>>>, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        let now = got.lock().expect("lock").clone();
        if now.len() >= n {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    got.lock().expect("lock").clone()
}

#[tokio::test]
async fn each_post_is_signed_over_timestamp_and_body_and_retried_after_a_5xx() {
    let (url, got) = receiver(vec![503, 200]).await;
    let poster = WebhookPoster::start(config(url, 3, 10)).expect("start");
    poster.send(br#"{"type":"alert"}"#.to_vec()).expect("queued");
    let requests = wait_for(&got, 2).await;
    assert_eq!(requests.len(), 2, "one failed attempt, one retry");
    for r in &requests {
        assert_eq!(r.body, br#"{"type":"alert"}"#);
        let ts = r.header("x-hotline-timestamp").expect("timestamp header");
        let expected = social::webhook::sign(SECRET, ts, &r.body);
        assert_eq!(r.header("x-hotline-signature"), Some(expected.as_str()));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(poster.counters().delivered.load(std::sync::atomic::Ordering::Relaxed), 1);
    poster.stop(1_000).await;
}

#[tokio::test]
async fn a_4xx_is_final_and_never_retried() {
    let (url, got) = receiver(vec![400]).await;
    let poster = WebhookPoster::start(config(url, 3, 10)).expect("start");
    poster.send(b"{}".to_vec()).expect("queued");
    wait_for(&got, 1).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // longer than the first backoff
    assert_eq!(got.lock().expect("lock").len(), 1);
    assert_eq!(poster.counters().rejected.load(std::sync::atomic::Ordering::Relaxed), 1);
    poster.stop(1_000).await;
}

#[tokio::test]
async fn a_full_queue_refuses_at_once_and_counts() {
    // Nothing listens on this port: every attempt fails and the one delivery stays queued.
    let unreachable = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/alerts", unreachable.local_addr().expect("addr"));
    drop(unreachable);
    let poster = WebhookPoster::start(config(url, 20, 1)).expect("start");
    let results: Vec<_> = (0..5).map(|_| poster.send(b"{}".to_vec())).collect();
    assert!(results.iter().any(|r| matches!(r, Err(FeedError::WebhookFull { max_pending: 1 }))));
    let dropped = poster.counters().dropped_full.load(std::sync::atomic::Ordering::Relaxed);
    assert!(dropped >= 3, "at most one in the channel and one in the outbox: {dropped} dropped");
    poster.stop(100).await;
}
