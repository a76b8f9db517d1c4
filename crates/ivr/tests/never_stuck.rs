//! Property tests: random inputs and timeouts on the demo flow never panic, keep every bound, never
//! wait without a deadline, and once the caller stops, always end (hang-up, queue or voicemail)
//! within a bounded number of timer firings. Random edits of the flow file never panic the loader.

mod common;

use std::collections::BTreeMap;

use common::{Call, catalog, demo_flow, repo_root};
use ivr::{Action, Flow, Input, Limits, LookupAnswer, Outcome, RequestId, ResetLinkResult};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Key(char),
    PlaybackDone,
    Timeout,
    Wait(i64),
    /// Answer the latest lookup (or a made-up request when `stale`).
    Lookup {
        answer: u8,
        status: usize,
        stale: bool,
    },
    Reset {
        result: u8,
        stale: bool,
    },
    Started,
    Hangup,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => prop::sample::select(vec!['0', '1', '2', '3', '4', '5', '7', '8', '9', '*', '#', 'A', 'x', '\u{0}']).prop_map(Step::Key),
        4 => Just(Step::PlaybackDone),
        3 => Just(Step::Timeout),
        2 => (0i64..20_000).prop_map(Step::Wait),
        2 => (0u8..3, 0usize..8, any::<bool>()).prop_map(|(answer, status, stale)| Step::Lookup { answer, status, stale }),
        2 => (0u8..4, any::<bool>()).prop_map(|(result, stale)| Step::Reset { result, stale }),
        1 => Just(Step::Started),
        1 => Just(Step::Hangup),
    ]
}

const STATUSES: [&str; 8] = ["pending", "processing", "shipped", "delivered", "cancelled", "returned", "lost", ""];

struct Harness {
    call: Call,
    lookup: Option<RequestId>,
    reset: Option<RequestId>,
    ends: usize,
    hung_up: bool,
}

impl Harness {
    fn apply(&mut self, s: &Step) {
        let actions = match s {
            Step::Key(k) => self.call.input(Input::Dtmf(*k)),
            Step::PlaybackDone => self.call.input(Input::PlaybackDone),
            Step::Timeout => match self.call.session.poll_timeout() {
                Some(_) => self.call.time_out(),
                None => Vec::new(),
            },
            Step::Wait(ms) => {
                self.call.now += ms;
                self.call.session.handle_timeout(common::at(self.call.now));
                self.call.drain()
            }
            Step::Lookup { answer, status, stale } => {
                let request = if *stale { RequestId(9_999) } else { self.lookup.unwrap_or(RequestId(1)) };
                let answer = match answer {
                    0 => LookupAnswer::Found(BTreeMap::from([("status".to_owned(), STATUSES[*status].to_owned())])),
                    1 => LookupAnswer::NotFound,
                    _ => LookupAnswer::Failed,
                };
                self.call.input(Input::LookupResult { request, answer })
            }
            Step::Reset { result, stale } => {
                let request = if *stale { RequestId(9_999) } else { self.reset.unwrap_or(RequestId(1)) };
                let result = [
                    ResetLinkResult::Sent,
                    ResetLinkResult::NoCustomer,
                    ResetLinkResult::NoEmail,
                    ResetLinkResult::Failed,
                ][usize::from(*result)];
                self.call.input(Input::ActionResult { request, result })
            }
            Step::Started => self.call.input(Input::Started),
            Step::Hangup => {
                if !self.call.session.is_ended() {
                    self.hung_up = true;
                }
                self.call.input(Input::Hangup)
            }
        };
        self.observe(&actions);
    }

    fn observe(&mut self, actions: &[Action]) {
        for a in actions {
            assert_eq!(self.ends, 0, "no action after the session ended: {a:?}");
            match a {
                Action::Lookup { request, .. } | Action::Http { request, .. } => self.lookup = Some(*request),
                Action::SendResetLink { request, .. } => self.reset = Some(*request),
                Action::Queue { .. } | Action::Voicemail { .. } | Action::Hangup { .. } => self.ends += 1,
                Action::Play { fragments, .. } => assert!(!fragments.is_empty(), "no empty Play"),
                Action::StopPlayback => {}
            }
        }
        let s = &self.call.session;
        let limits = Limits::default();
        assert!(s.path().len() <= limits.max_path_len);
        assert!(s.digits().len() <= limits.max_digits);
        assert!(s.variables().len() <= limits.max_variables);
        if s.is_ended() {
            assert!(s.outcome().is_some() && s.poll_timeout().is_none());
        } else if !s.path().is_empty() {
            assert!(s.poll_timeout().is_some(), "a running session always has a deadline");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_calls_never_panic_and_always_end(steps in prop::collection::vec(step(), 0..150)) {
        let mut h = Harness { call: Call::new(demo_flow()), lookup: None, reset: None, ends: 0, hung_up: false };
        h.apply(&Step::Started);
        for s in &steps {
            h.apply(s);
        }
        // The caller falls silent and media and lookups stop answering: only time passes.
        let mut firings = 0;
        while !h.call.session.is_ended() {
            firings += 1;
            prop_assert!(firings <= 200, "still running after 200 timeouts at {:?}", h.call.session.current_node());
            let actions = h.call.time_out();
            h.observe(&actions);
        }
        let outcome = h.call.session.outcome();
        if h.hung_up {
            prop_assert_eq!(h.ends, 0);
            prop_assert_eq!(outcome, Some(Outcome::Abandoned));
        } else {
            prop_assert_eq!(h.ends, 1, "exactly one hang-up, queue or voicemail");
            prop_assert!(matches!(outcome, Some(Outcome::SelfServed | Outcome::Queued | Outcome::Voicemail | Outcome::Error)));
        }
    }

    #[test]
    fn edited_flow_files_never_panic_the_loader(edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..8)) {
        let mut text: Vec<char> = std::fs::read_to_string(repo_root().join("flows/demo.toml")).expect("readable").chars().collect();
        for (at, op, c) in edits {
            let i = at.index(text.len().max(1));
            match op {
                0 if !text.is_empty() => { text.remove(i.min(text.len() - 1)); }
                1 => text.insert(i.min(text.len()), c),
                2 if !text.is_empty() => { let j = i.min(text.len() - 1); text[j] = c; }
                _ => text.truncate(i),
            }
        }
        let text: String = text.into_iter().collect();
        if let Err(e) = Flow::parse("flows/demo.toml", &text, &catalog()) {
            prop_assert!(!e.message.is_empty());
            prop_assert!(e.line <= text.lines().count() + 1);
        }
    }
}
