//! Flows by dialled number, and the registry that swaps them on reload.
//!
//! A [`FlowSet`] is immutable; reloading builds a new one and swaps it in whole. Sessions hold an
//! `Arc<Flow>`, so a call in progress finishes on the flow it started with while new calls get the
//! new one. A reload that fails (any file invalid) keeps the old set and returns the error.
//!
//! Must never: hold two flows for one number, read more than [`MAX_FLOW_FILES`] files, or panic on
//! a poisoned lock.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::calendar::CalendarBook;
use crate::flow::{Flow, FlowError};
use crate::prompt::PromptCatalog;

/// Most flow files in a directory.
pub const MAX_FLOW_FILES: usize = 256;

/// Flows by dialled number.
#[derive(Debug, Clone, Default)]
pub struct FlowSet {
    by_number: BTreeMap<String, Arc<Flow>>,
}

impl FlowSet {
    /// Indexes flows by their numbers; two flows claiming one number (or one id) is an error.
    pub fn new(flows: impl IntoIterator<Item = Flow>) -> Result<Self, FlowError> {
        let mut by_number: BTreeMap<String, Arc<Flow>> = BTreeMap::new();
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        for flow in flows {
            let flow = Arc::new(flow);
            let clash =
                |message: String| FlowError { file: flow.file.clone(), line: 0, column: 0, node: None, message };
            if let Some(other) = ids.insert(flow.id.clone(), flow.file.clone()) {
                return Err(clash(format!("flow id {:?} is also used by {other}", flow.id)));
            }
            for n in &flow.numbers {
                if let Some(other) = by_number.insert(n.clone(), Arc::clone(&flow)) {
                    return Err(clash(format!("number {n} is also claimed by {}", other.file)));
                }
            }
        }
        Ok(Self { by_number })
    }

    /// Loads every `*.toml` file of `dir` (not recursive), in name order; the first invalid file
    /// fails the whole set.
    pub fn load_dir(dir: &Path, catalog: &PromptCatalog) -> Result<Self, FlowError> {
        let dir_error =
            |message: String| FlowError { file: dir.display().to_string(), line: 0, column: 0, node: None, message };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| dir_error(format!("cannot read: {e}")))? {
            let path = entry.map_err(|e| dir_error(format!("cannot read: {e}")))?.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                if paths.len() >= MAX_FLOW_FILES {
                    return Err(dir_error(format!("more than {MAX_FLOW_FILES} flow files")));
                }
                paths.push(path);
            }
        }
        paths.sort();
        let flows = paths.iter().map(|p| Flow::load_file(p, catalog)).collect::<Result<Vec<_>, _>>()?;
        Self::new(flows)
    }

    /// The flow that answers calls to `dialled`.
    pub fn flow_for(&self, dialled: &str) -> Option<Arc<Flow>> {
        self.by_number.get(dialled).cloned()
    }

    /// The numbers served, sorted.
    pub fn numbers(&self) -> impl Iterator<Item = &str> {
        self.by_number.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_number.is_empty()
    }

    /// The same flows reading their named calendars from `book` (a flow answering several
    /// numbers stays one shared flow).
    fn linked(self, book: &Arc<CalendarBook>) -> Self {
        let mut done: Vec<(*const Flow, Arc<Flow>)> = Vec::new();
        let by_number = self
            .by_number
            .into_iter()
            .map(|(number, flow)| {
                let key = Arc::as_ptr(&flow);
                let linked = match done.iter().find(|(k, _)| *k == key) {
                    Some((_, l)) => Arc::clone(l),
                    None => {
                        let l = Arc::new(Flow::clone(&flow).with_calendars(Arc::clone(book)));
                        done.push((key, Arc::clone(&l)));
                        l
                    }
                };
                (number, linked)
            })
            .collect();
        Self { by_number }
    }
}

/// The current [`FlowSet`], swapped whole on reload, and the named calendars its `hours` nodes
/// read (edited apart from the flows, seen by the next hours check); shareable between threads.
#[derive(Debug, Default)]
pub struct FlowRegistry {
    current: RwLock<Arc<FlowSet>>,
    calendars: Arc<CalendarBook>,
}

impl FlowRegistry {
    pub fn new(set: FlowSet) -> Self {
        let calendars = Arc::new(CalendarBook::default());
        Self { current: RwLock::new(Arc::new(set.linked(&calendars))), calendars }
    }

    /// The named calendars every flow of this registry reads; replacing them takes effect at
    /// the next `hours` node of any call, without a reload.
    pub fn calendars(&self) -> &Arc<CalendarBook> {
        &self.calendars
    }

    /// The set new calls should use.
    pub fn current(&self) -> Arc<FlowSet> {
        Arc::clone(&self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Swaps in `set`; calls in progress keep their flows.
    pub fn replace(&self, set: FlowSet) {
        let set = set.linked(&self.calendars);
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(set);
    }

    /// Reloads `dir`; on any error keeps the current set and returns the error.
    pub fn reload_dir(&self, dir: &Path, catalog: &PromptCatalog) -> Result<Arc<FlowSet>, FlowError> {
        let set = FlowSet::load_dir(dir, catalog)?;
        self.replace(set);
        Ok(self.current())
    }
}
