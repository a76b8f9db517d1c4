//! Cost of the IVR core per call: loading the demo flow, and one whole call through the order
//! status branch (start, 1, 100001#, lookup answer, status spoken, 2, goodbye).
//!
//! Run: `cargo bench -p ivr --bench calls`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ivr::{Action, CallInfo, Flow, Input, LookupAnswer, PromptCatalog, Session};
use model::Timestamp;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn catalog() -> PromptCatalog {
    let text = std::fs::read_to_string(root().join("prompts/catalog.toml")).expect("catalogue readable");
    PromptCatalog::parse_toml("prompts/catalog.toml", &text).expect("catalogue valid")
}

fn order_status_call(flow: &Arc<Flow>) -> usize {
    let call = CallInfo { caller: "+8613800000001".into(), dialled: "4000".into(), language: None };
    let mut now = 1_799_200_800_000;
    let mut s = Session::new(Arc::clone(flow), call, Timestamp::from_unix_ms(now));
    let mut actions = 0;
    let mut step = |s: &mut Session, input: Input| {
        now += 500;
        s.handle(Timestamp::from_unix_ms(now), input);
        let mut request = None;
        while let Some(a) = s.poll_action() {
            actions += 1;
            if let Action::Lookup { request: r, .. } = a {
                request = Some(r);
            }
        }
        request
    };
    step(&mut s, Input::Started);
    step(&mut s, Input::Dtmf('1'));
    step(&mut s, Input::PlaybackDone);
    let mut request = None;
    for d in "100001#".chars() {
        request = step(&mut s, Input::Dtmf(d)).or(request);
    }
    let answer = LookupAnswer::Found(BTreeMap::from([("status".to_owned(), "shipped".to_owned())]));
    step(&mut s, Input::LookupResult { request: request.expect("lookup asked"), answer });
    step(&mut s, Input::PlaybackDone);
    step(&mut s, Input::Dtmf('2'));
    step(&mut s, Input::PlaybackDone);
    assert!(s.is_ended());
    actions
}

fn bench(c: &mut Criterion) {
    let catalog = catalog();
    let text = std::fs::read_to_string(root().join("flows/demo.toml")).expect("flow readable");
    c.bench_function("load_demo_flow", |b| {
        b.iter(|| Flow::parse("flows/demo.toml", black_box(&text), &catalog).expect("valid"))
    });
    let flow = Arc::new(Flow::parse("flows/demo.toml", &text, &catalog).expect("valid"));
    c.bench_function("order_status_call", |b| b.iter(|| order_status_call(black_box(&flow))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
