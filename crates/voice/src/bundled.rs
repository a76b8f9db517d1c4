//! The demo's IVR flows, prompt catalogue and prompts, compiled into the binary from the
//! repository's `flows/` and `prompts/` folders, so `hotline demo` answers 4000 from any directory.
//! Operators point `ivr.flows_dir` / `ivr.prompts_dir` at their own folders instead.

use include_dir::{Dir, include_dir};
use ivr::prompt::CatalogError;
use ivr::{FlowError, FlowSet, PromptCatalog};

use crate::{Prompts, PromptsError};

static FLOWS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../flows");
static PROMPTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../prompts");

/// The prompt catalogue (`prompts/catalog.toml`): which prompt names exist in which language.
pub fn catalog() -> Result<PromptCatalog, CatalogError> {
    let text = PROMPTS.get_file("catalog.toml").and_then(|f| f.contents_utf8()).unwrap_or_default();
    PromptCatalog::parse_toml("prompts/catalog.toml", text)
}

/// The bundled flows (`flows/*.toml`), validated against `catalog`.
pub fn flows(catalog: &PromptCatalog) -> Result<FlowSet, FlowError> {
    let mut files: Vec<_> = FLOWS.files().filter(|f| f.path().extension().is_some_and(|e| e == "toml")).collect();
    files.sort_by_key(|f| f.path());
    let flows = files
        .into_iter()
        .map(|f| {
            let name = format!("flows/{}", f.path().display());
            ivr::Flow::parse(&name, f.contents_utf8().unwrap_or_default(), catalog)
        })
        .collect::<Result<Vec<_>, _>>()?;
    FlowSet::new(flows)
}

/// The bundled prompts (`prompts/<language>/*.wav`, `prompts/music/hold.wav`).
pub fn prompts() -> Result<Prompts, PromptsError> {
    let mut files = Vec::new();
    collect(&PROMPTS, &mut files);
    Prompts::from_files(files.iter().map(|(p, b)| (p.as_str(), *b)))
}

fn collect<'a>(dir: &'a Dir<'a>, out: &mut Vec<(String, &'a [u8])>) {
    for file in dir.files() {
        out.push((file.path().display().to_string(), file.contents()));
    }
    for sub in dir.dirs() {
        collect(sub, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_demo_answers_4000_with_every_prompt_present() {
        let catalog = catalog().expect("catalogue parses");
        let flows = flows(&catalog).expect("flows validate");
        let demo = flows.flow_for("4000").expect("4000 is served");
        let prompts = prompts().expect("prompts decode");
        for language in demo.languages() {
            for name in demo.prompt_names() {
                assert!(prompts.contains(language, &name), "{language}/{name}.wav missing");
            }
        }
    }
}
