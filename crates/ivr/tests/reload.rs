//! Flow sets by number; reloading swaps them whole, keeps running calls on their flow, and keeps
//! the old set when the new one is invalid.

mod common;

use std::sync::Arc;

use common::{Call, catalog, last_play, repo_root};
use ivr::{FlowRegistry, FlowSet};

fn demo_text() -> String {
    std::fs::read_to_string(repo_root().join("flows/demo.toml")).expect("demo flow readable")
}

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write flow");
    }
    dir
}

#[test]
fn the_flows_directory_serves_4000() {
    let set = FlowSet::load_dir(&repo_root().join("flows"), &catalog()).expect("flows/ is valid");
    assert_eq!(set.flow_for("4000").map(|f| f.id().to_owned()), Some("demo".into()));
    assert!(set.flow_for("4001").is_none());
}

#[test]
fn reload_gives_new_calls_the_new_flow_and_running_calls_keep_theirs() {
    let dir = dir_with(&[("demo.toml", &demo_text())]);
    let registry = FlowRegistry::new(FlowSet::load_dir(dir.path(), &catalog()).expect("valid"));
    let old_flow = registry.current().flow_for("4000").expect("4000 served");
    let mut running = Call::new(Arc::clone(&old_flow));
    running.start();

    // The new version greets without the language option.
    let edited = demo_text().replacen("say = [\"greeting\", \"language_option\"]", "say = [\"greeting\"]", 1);
    std::fs::write(dir.path().join("demo.toml"), edited).expect("write");
    registry.reload_dir(dir.path(), &catalog()).expect("valid reload");

    let new_flow = registry.current().flow_for("4000").expect("4000 served");
    assert!(!Arc::ptr_eq(&old_flow, &new_flow));
    let mut fresh = Call::new(new_flow);
    assert_eq!(last_play(&fresh.start()), ["greeting"]);
    // The running call goes on with the flow it started with.
    running.played();
    assert_eq!(last_play(&running.press("7")), ["invalid_choice", "greeting", "language_option"]);
    assert!(Arc::ptr_eq(running.session.flow(), &old_flow));
}

#[test]
fn a_failed_reload_keeps_the_old_set_and_names_the_problem() {
    let dir = dir_with(&[("demo.toml", &demo_text())]);
    let registry = FlowRegistry::new(FlowSet::load_dir(dir.path(), &catalog()).expect("valid"));
    let before = registry.current();
    let broken = demo_text().replacen("next = \"order_lookup\"", "next = \"order_lookupp\"", 1);
    std::fs::write(dir.path().join("demo.toml"), &broken).expect("write");
    let e = registry.reload_dir(dir.path(), &catalog()).expect_err("invalid flow");
    assert!(e.to_string().contains("node \"order_entry\": unknown next node \"order_lookupp\""), "{e}");
    assert!(e.file.ends_with("demo.toml"), "{e}");
    assert!(Arc::ptr_eq(&before, &registry.current()), "the old set still serves");
}

#[test]
fn two_flows_on_one_number_are_refused() {
    let copy = demo_text().replacen("id = \"demo\"", "id = \"demo_copy\"", 1);
    let dir = dir_with(&[("a.toml", &demo_text()), ("b.toml", &copy)]);
    let e = FlowSet::load_dir(dir.path(), &catalog()).expect_err("4000 twice");
    assert!(e.message.contains("number 4000 is also claimed"), "{e}");
}
