//! The `hotline` binary: reads the configuration, opens the store, and serves.
//!
//! Composition only: parsing of the command line, start-up order, signals and shutdown live here;
//! every rule lives in the crates this wires together. Errors reach the user as one line on
//! stderr (`hotline: sip.port: 70000 is not a port`) and a non-zero exit code, with nothing
//! written before the configuration and the database have been checked.

mod alerts;
mod cli;
mod edge;
mod email;
mod events;
mod feeds;
mod logging;
mod recordings;
mod search_notes;
mod search_texts;
mod seed;
mod serve;
mod social;
mod speech;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Prints the error chain as one line.
fn fail(err: &anyhow::Error) -> ExitCode {
    let line: Vec<String> = err.chain().map(|c| c.to_string()).collect();
    eprintln!("hotline: {}", line.join(": ").replace('\n', " "));
    ExitCode::FAILURE
}
