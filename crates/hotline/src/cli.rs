//! The command line: `serve`, `demo`, `migrate`, `chat-edge`, `check-config`, with the flags they
//! share.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::serve::{self, Mode};

#[derive(Debug, Parser)]
#[command(name = "hotline", version, about = "Hotline: an open-source contact center (voice, chat, email, social)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the contact center (refuses to start while a demo password is still set).
    Serve(ServeArgs),
    /// Serve with the Demo Shop data on embedded SQLite, creating the data directory if needed.
    /// Running it again keeps the data it made before.
    Demo(ServeArgs),
    /// Apply pending database migrations, then exit.
    Migrate(ServeArgs),
    /// Hold web-chat sockets for a Hotline server and relay them over one link (`[chat]
    /// edge_secret` set on both): several edges let one machine hold more chats than one process
    /// may open files.
    ChatEdge(crate::edge::EdgeArgs),
    /// Validate a configuration file and exit (0 when valid).
    CheckConfig {
        /// The TOML file to check.
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML). Without it, defaults and HOTLINE_* variables apply.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Where Hotline keeps its SQLite database and files [default: data]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// HTTP port of the API and web UI [default: 8080]
    #[arg(long)]
    pub http_port: Option<i64>,
    /// SIP port for phones and trunks [default: 5060]
    #[arg(long)]
    pub sip_port: Option<i64>,
}

impl ServeArgs {
    fn load(&self) -> anyhow::Result<config::Config> {
        let cli = config::CliOverrides {
            data_dir: self.data_dir.clone(),
            http_port: self.http_port,
            sip_port: self.sip_port,
        };
        Ok(config::load(self.config.as_deref(), std::env::vars(), &cli)?)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::CheckConfig { file } => {
            let cfg = config::load(Some(&file), std::iter::empty(), &config::CliOverrides::default())?;
            println!(
                "{}: valid (http {}:{}, sip {}:{}, database {})",
                file.display(),
                cfg.http.bind,
                cfg.http.port,
                cfg.sip.bind,
                cfg.sip.port,
                cfg.database.redacted_url()
            );
            Ok(())
        }
        Command::Migrate(args) => {
            let cfg = args.load()?;
            crate::logging::init(&cfg.log)?;
            let store = serve::open_store(&cfg).await?;
            let report = store.migrate().await?;
            let applied: Vec<String> = report.applied.iter().map(|(v, name)| format!("{v} {name}")).collect();
            if applied.is_empty() {
                println!("database {}: schema version {}, already current", store.redacted_url(), report.to);
            } else {
                println!(
                    "database {}: schema version {} -> {} (applied {})",
                    store.redacted_url(),
                    report.from,
                    report.to,
                    applied.join(", ")
                );
            }
            store.close().await;
            Ok(())
        }
        Command::ChatEdge(args) => crate::edge::run(args).await,
        Command::Serve(args) => serve::run(args.load()?, Mode::Production).await,
        Command::Demo(args) => serve::run(args.load()?, Mode::Demo).await,
    }
}
