//! `/api/metrics` with the live center: queue and agent gauges and ended-contact counters
//! (`feeds::prometheus`) after a real contact is answered and ended, read with a Prometheus parser.

mod common;

use center::LiveEvent;
use common::{start_live, voice_contact};
use prometheus_parse::{Scrape, Value as PValue};
use reqwest::Method;
use serde_json::json;

fn value(v: &PValue) -> f64 {
    match v {
        PValue::Counter(x) | PValue::Gauge(x) | PValue::Untyped(x) => *x,
        _ => f64::NAN,
    }
}

async fn next(rx: &mut tokio::sync::broadcast::Receiver<LiveEvent>, want: impl Fn(&LiveEvent) -> bool) {
    loop {
        match rx.recv().await {
            Ok(e) if want(&e) => return,
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("center stopped: {e}"),
        }
    }
}

#[tokio::test]
async fn live_gauges_and_contact_counters_parse_as_prometheus() {
    let s = start_live(common::config()).await;
    let a1 = s.agent("1001").await;
    let mut rx = s.center.subscribe();
    let state = s.as_browser(&a1, Method::PUT, "/api/me/state").json(&json!({"state": "available"})).send().await;
    assert!(state.expect("state").status().is_success());
    let contact = s.center.submit(voice_contact(2)).await.expect("submit");
    next(&mut rx, |e| matches!(e, LiveEvent::ContactOffered { contact: c, .. } if *c == contact)).await;
    let path = format!("/api/contacts/{contact}/accept");
    assert_eq!(s.as_browser(&a1, Method::POST, &path).send().await.expect("accept").status(), 204);
    let path = format!("/api/contacts/{contact}/end");
    assert_eq!(s.as_browser(&a1, Method::POST, &path).send().await.expect("end").status(), 204);
    next(&mut rx, |e| matches!(e, LiveEvent::ContactEnded { contact: c, .. } if *c == contact)).await;

    let sup = s.supervisor().await;
    // The tally task sees the same broadcast; give it a bounded number of looks.
    let mut scrape = None;
    for _ in 0..100 {
        let text =
            s.as_browser(&sup, Method::GET, "/api/metrics").send().await.expect("metrics").text().await.expect("text");
        let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("a Prometheus parser reads it");
        let answered = parsed.samples.iter().any(|x| {
            x.metric == "hotline_contacts_total"
                && x.labels.get("channel") == Some("voice")
                && x.labels.get("outcome") == Some("answered")
                && value(&x.value) == 1.0
        });
        if answered {
            scrape = Some(parsed);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let scrape = scrape.expect("hotline_contacts_total{channel=voice,outcome=answered} 1");
    let samples = |name: &str| scrape.samples.iter().filter(|x| x.metric == name).collect::<Vec<_>>();
    let general = samples("hotline_queue_waiting");
    assert!(general.iter().any(|x| x.labels.get("queue") == Some("general") && value(&x.value) == 0.0));
    assert!(!samples("hotline_queue_longest_wait_seconds").is_empty());
    let agents: f64 = samples("hotline_agents").iter().map(|x| value(&x.value)).sum();
    assert_eq!(agents, demo::dataset(common::T0).agents.len() as f64, "every agent in one state");
    let wrap_up = samples("hotline_agents").into_iter().find(|x| x.labels.get("state") == Some("wrap_up"));
    assert_eq!(wrap_up.map(|x| value(&x.value)), Some(1.0), "1001 wraps up after the contact");
    assert!(!samples("hotline_http_requests_total").is_empty(), "the HTTP metrics stay");
}
