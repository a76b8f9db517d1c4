//! Shared test helpers: the repository's prompt catalogue and demo flow, and a driver that feeds a
//! session with injected time.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use ivr::{Action, CallInfo, Flow, Input, PromptCatalog, Session};
use model::{Language, Timestamp};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn catalog() -> PromptCatalog {
    let path = repo_root().join("prompts/catalog.toml");
    let text = std::fs::read_to_string(&path).expect("prompts/catalog.toml is readable");
    PromptCatalog::parse_toml("prompts/catalog.toml", &text).expect("the catalogue is valid")
}

pub fn demo_flow() -> Arc<Flow> {
    let path = repo_root().join("flows/demo.toml");
    Arc::new(Flow::load_file(&path, &catalog()).expect("flows/demo.toml is valid"))
}

pub fn lang(tag: &str) -> Language {
    Language::parse(tag).expect("valid language tag")
}

/// 2027-01-06T02:00:00Z, a Wednesday (10:00 in Beijing).
pub const T0: i64 = 1_799_200_800_000;

pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms)
}

/// A session with a clock; every step returns the actions it produced.
pub struct Call {
    pub session: Session,
    pub now: i64,
}

impl Call {
    pub fn new(flow: Arc<Flow>) -> Self {
        Self::with_caller(flow, "+8613800000001")
    }

    pub fn with_caller(flow: Arc<Flow>, caller: &str) -> Self {
        let call = CallInfo { caller: caller.into(), dialled: "4000".into(), language: None };
        Self { session: Session::new(flow, call, at(T0)), now: T0 }
    }

    pub fn input(&mut self, input: Input) -> Vec<Action> {
        self.session.handle(at(self.now), input);
        self.drain()
    }

    pub fn start(&mut self) -> Vec<Action> {
        self.input(Input::Started)
    }

    /// Presses keys one by one, returning every action produced.
    pub fn press(&mut self, keys: &str) -> Vec<Action> {
        let mut out = Vec::new();
        for k in keys.chars() {
            self.now += 300;
            out.extend(self.input(Input::Dtmf(k)));
        }
        out
    }

    pub fn played(&mut self) -> Vec<Action> {
        self.now += 1_000;
        self.input(Input::PlaybackDone)
    }

    /// Jumps to the session's deadline and fires it.
    pub fn time_out(&mut self) -> Vec<Action> {
        let deadline = self.session.poll_timeout().expect("a running session has a deadline");
        self.now = self.now.max(deadline.unix_ms());
        self.session.handle_timeout(at(self.now));
        self.drain()
    }

    pub fn drain(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.session.poll_action()).collect()
    }
}

/// The prompt names of the last `Play` among `actions`.
pub fn last_play(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .rev()
        .find_map(|a| match a {
            Action::Play { fragments, .. } => Some(fragments.iter().map(|p| p.name.clone()).collect()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Play in {actions:?}"))
}
