//! Every validation rule refuses a bad flow with the file, the line (and column) and the node.

mod common;

use ivr::{Flow, FlowError, PromptCatalog};

const VALID: &str = r#"version = 1
id = "small"
numbers = ["5000"]
languages = ["zh-CN", "en"]
start = "menu"

[[node]]
id = "menu"
type = "menu"
say = ["greeting"]
choices = { 1 = "lookup", 2 = "bye" }
timeout = "5s"
after_retries = "bye"

[[node]]
id = "lookup"
type = "lookup"
lookup = "customer_by_caller"
found = "bye"
not_found = "bye"
error = "bye"

[[node]]
id = "bye"
type = "hangup"
say = ["goodbye"]
"#;

fn load(text: &str) -> Result<Flow, FlowError> {
    Flow::parse("flows/small.toml", text, &common::catalog())
}

/// Loads `VALID` with `from` replaced by `to` and returns the error.
fn refused(from: &str, to: &str) -> FlowError {
    assert!(VALID.contains(from), "{from:?} is not in the flow");
    let text = VALID.replacen(from, to, 1);
    match load(&text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// The 1-based line of the first line containing `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect("needle present") + 1
}

fn assert_at(e: &FlowError, line: usize, node: Option<&str>, message: &str) {
    assert_eq!(e.file, "flows/small.toml", "{e}");
    assert_eq!(e.line, line, "{e}");
    assert_eq!(e.node.as_deref(), node, "{e}");
    assert!(e.message.contains(message), "{e} should say {message:?}");
    assert!(e.column >= 1, "{e}");
}

#[test]
fn the_valid_flow_loads() {
    let flow = load(VALID).expect("valid");
    assert_eq!(flow.node_ids().collect::<Vec<_>>(), ["menu", "lookup", "bye"]);
    assert_eq!(flow.entry_point(), "small");
}

#[test]
fn unknown_next_node_names_file_line_column_and_node() {
    let e = refused("found = \"bye\"", "found = \"byee\"");
    assert_at(&e, line_of(VALID, "found = "), Some("lookup"), "unknown node found \"byee\"");
    assert_eq!(e.column, 9, "points at the value");
    assert_eq!(e.to_string(), format!("flows/small.toml:{}:9: node \"lookup\": unknown node found \"byee\"", e.line));
}

#[test]
fn unknown_menu_target_is_refused() {
    let e = refused("2 = \"bye\"", "2 = \"by\"");
    assert_at(&e, line_of(VALID, "choices"), Some("menu"), "unknown node choice \"by\"");
}

#[test]
fn missing_start_node_is_refused() {
    let e = refused("start = \"menu\"", "start = \"main\"");
    assert_at(&e, 5, None, "unknown start node \"main\"");
}

#[test]
fn unreachable_node_is_an_error() {
    let e = refused("choices = { 1 = \"lookup\", 2 = \"bye\" }", "choices = { 1 = \"bye\" }");
    assert_at(&e, line_of(VALID, "id = \"lookup\""), Some("lookup"), "unreachable from the start node");
}

#[test]
fn menu_digits_must_be_dtmf_keys() {
    let e = refused("2 = \"bye\"", "x = \"bye\"");
    assert_at(&e, line_of(VALID, "choices"), Some("menu"), "menu digit \"x\" must be one of 0-9, * or #");
    let e = refused("2 = \"bye\"", "12 = \"bye\"");
    assert!(e.message.contains("\"12\""), "{e}");
    assert!(load(&VALID.replacen("2 = \"bye\"", "\"#\" = \"bye\"", 1)).is_ok());
}

#[test]
fn durations_need_a_unit() {
    let e = refused("timeout = \"5s\"", "timeout = \"5\"");
    assert_at(&e, line_of(VALID, "timeout"), Some("menu"), "needs a unit");
    let e = refused("timeout = \"5s\"", "timeout = \"10m\"");
    assert!(e.message.contains("at most 300s"), "{e}");
}

#[test]
fn prompts_must_exist_in_every_language() {
    let e = refused("say = [\"goodbye\"]", "say = [\"good_bye\"]");
    assert_at(&e, line_of(VALID, "say = [\"goodbye\"]"), Some("bye"), "unknown prompt \"good_bye\"");
    let mut only_zh = PromptCatalog::new();
    for name in ["greeting", "goodbye"] {
        only_zh.add(&common::lang("zh-CN"), name).expect("valid name");
    }
    let e = Flow::parse("flows/small.toml", VALID, &only_zh).expect_err("English prompts missing");
    assert!(e.message.contains("in en"), "{e}");
}

#[test]
fn spoken_digits_need_the_digit_fragments() {
    let mut catalog = PromptCatalog::new();
    for name in ["greeting", "goodbye"] {
        for l in ["zh-CN", "en"] {
            catalog.add(&common::lang(l), name).expect("valid name");
        }
    }
    let text = VALID.replacen("say = [\"goodbye\"]", "say = [\"goodbye\", \"{digits:caller}\"]", 1);
    let e = Flow::parse("flows/small.toml", &text, &catalog).expect_err("digit fragments missing");
    assert!(e.message.contains("digit_0"), "{e}");
    assert!(load(&text).is_ok(), "the repository catalogue has them");
}

#[test]
fn variables_must_be_defined_by_some_node() {
    let e = refused("say = [\"goodbye\"]", "say = [\"{digits:order_numbr}\"]");
    assert_at(&e, line_of(VALID, "say = [\"goodbye\"]"), Some("bye"), "unknown variable \"order_numbr\"");
    assert!(load(&VALID.replacen("say = [\"goodbye\"]", "say = [\"{status:lookup.status}\"]", 1)).is_ok());
}

#[test]
fn loop_without_input_is_refused() {
    let text = format!(
        "{}\n[[node]]\nid = \"again\"\ntype = \"play\"\nsay = [\"goodbye\"]\nnext = \"lookup\"\n",
        VALID.replacen("error = \"bye\"", "error = \"again\"", 1)
    );
    let e = load(&text).expect_err("lookup → again → lookup never waits for the caller");
    assert_eq!(e.node.as_deref(), Some("lookup"), "{e}");
    assert!(e.message.contains("lookup → again → lookup"), "{e}");
    assert!(e.message.contains("without a menu or collect"), "{e}");
    // Through the menu it is fine: the caller is asked each time.
    assert!(load(&VALID.replacen("error = \"bye\"", "error = \"menu\"", 1)).is_ok());
}

#[test]
fn duplicate_node_ids_are_refused() {
    let e = refused("id = \"bye\"", "id = \"menu\"");
    assert_at(&e, line_of(VALID, "id = \"bye\""), Some("menu"), "duplicate node id");
}

#[test]
fn unknown_type_and_misplaced_fields_are_refused() {
    let e = refused("type = \"hangup\"", "type = \"hang_up\"");
    assert_at(&e, line_of(VALID, "type = \"hangup\""), Some("bye"), "unknown node type \"hang_up\"");
    let e = refused("say = [\"goodbye\"]", "say = [\"goodbye\"]\nnext = \"menu\"");
    assert_at(&e, line_of(VALID, "say = [\"goodbye\"]") + 1, Some("bye"), "field `next` is not used by a hangup node");
    let e = refused("after_retries = \"bye\"\n", "");
    assert_at(&e, line_of(VALID, "id = \"menu\""), Some("menu"), "a menu node needs `after_retries`");
}

#[test]
fn toml_and_shape_errors_have_positions() {
    let e = refused("timeout = \"5s\"", "timeout = \"5s");
    assert_eq!(e.line, line_of(VALID, "timeout"), "{e}");
    let e = refused("id = \"small\"", "id = \"small\"\ncolour = \"red\"");
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("colour"), "{e}");
}

#[test]
fn only_version_1_is_read() {
    let e = refused("version = 1", "version = 2");
    assert_at(&e, 1, None, "unsupported version 2");
}

#[test]
fn languages_are_checked() {
    let e = refused("languages = [\"zh-CN\", \"en\"]", "languages = [\"zh-CN\", \"english\"]");
    assert_eq!(e.line, 4, "{e}");
    let text = VALID.replacen("start = \"menu\"", "start = \"menu\"\ndefault_language = \"fr\"", 1);
    let e = load(&text).expect_err("fr is not a language of the flow");
    assert!(e.message.contains("not in languages"), "{e}");
}

#[test]
fn retries_and_collect_bounds_are_limited() {
    let e = refused("timeout = \"5s\"", "timeout = \"5s\"\nmax_retries = 50");
    assert!(e.message.contains("max_retries must be at most 9"), "{e}");
}

#[test]
fn hours_are_validated() {
    let hours = "[[node]]\nid = \"open\"\ntype = \"hours\"\nutc_offset = \"+08:00\"\nweekly = { mon = \"09:00-18:00\" }\nopen = \"menu\"\nclosed = \"bye\"\n";
    let good = VALID.replacen("start = \"menu\"", "start = \"open\"", 1) + hours;
    load(&good).expect("valid hours");
    for (from, to, says) in [
        ("+08:00", "+8", "UTC offset"),
        ("mon = \"09:00-18:00\"", "monday = \"09:00-18:00\"", "weekly day \"monday\""),
        ("09:00-18:00", "18:00-09:00", "ends before it starts"),
    ] {
        let e = load(&good.replacen(from, to, 1)).expect_err("bad hours");
        assert_eq!(e.node.as_deref(), Some("open"), "{e}");
        assert!(e.message.contains(says), "{e} should say {says}");
    }
}

#[test]
fn oversized_flow_is_refused_before_parsing() {
    let text = format!("{VALID}\n#{}\n", "x".repeat(ivr::flow::MAX_FLOW_BYTES));
    let e = load(&text).expect_err("too big");
    assert!(e.message.contains("limit"), "{e}");
}

#[test]
fn a_missing_file_is_one_line_naming_it() {
    let e = Flow::load_file(std::path::Path::new("/nonexistent/flow.toml"), &common::catalog()).expect_err("missing");
    assert_eq!((e.file.as_str(), e.line), ("/nonexistent/flow.toml", 0));
    assert!(e.to_string().starts_with("/nonexistent/flow.toml: cannot read"), "{e}");
}

#[test]
fn the_demo_flow_loads() {
    let flow = common::demo_flow();
    assert_eq!(flow.numbers(), ["4000"]);
    assert_eq!(flow.default_language().as_str(), "zh-CN");
}

#[test]
fn set_language_must_be_a_language_of_the_flow() {
    let text = format!(
        "{}\n[[node]]\nid = \"french\"\ntype = \"set\"\nattributes = {{ language = \"fr\" }}\nnext = \"bye\"\n",
        VALID.replacen("error = \"bye\"", "error = \"french\"", 1)
    );
    let e = load(&text).expect_err("fr is not offered");
    assert_eq!(e.node.as_deref(), Some("french"), "{e}");
    assert!(e.message.contains("not one of the flow's languages"), "{e}");
    assert!(load(&text.replace("language = \"fr\"", "language = \"en\"")).is_ok());
}
