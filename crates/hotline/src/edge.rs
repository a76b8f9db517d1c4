//! `hotline chat-edge`: a process that holds customers' chat WebSockets and relays them to a
//! Hotline server over one link (`web::chat_edge`). Reads `[chat] edge_secret`,
//! `http.allowed_origins` and `[log]` from the same configuration as the server.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::serve::ShutdownSignal;

#[derive(Debug, Args)]
pub struct EdgeArgs {
    /// Configuration file (TOML): the server's, for `[chat] edge_secret` and `http.allowed_origins`.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// The Hotline server's HTTP address, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub core: String,
    /// Where customers' widgets connect, e.g. 0.0.0.0:8081 (pages load the widget from here).
    #[arg(long)]
    pub listen: SocketAddr,
    /// Customer sockets this edge holds at once (each is an open file).
    #[arg(long, default_value_t = 19_000)]
    pub max_connections: usize,
}

/// The core's link URL for its HTTP address: `http://h:p` → `ws://h:p/chat/edge`.
fn link_url(core: &str) -> anyhow::Result<String> {
    let core = core.trim_end_matches('/');
    let rest = if let Some(r) = core.strip_prefix("http://") {
        format!("ws://{r}")
    } else if let Some(r) = core.strip_prefix("https://") {
        format!("wss://{r}")
    } else {
        anyhow::bail!("--core: {core:?} is not an http:// or https:// address");
    };
    Ok(format!("{rest}{}", web::chat_edge::EDGE_PATH))
}

pub async fn run(args: EdgeArgs) -> anyhow::Result<()> {
    let cfg = config::load(args.config.as_deref(), std::env::vars(), &config::CliOverrides::default())?;
    let Some(secret) = cfg.chat.edge_secret.clone() else {
        anyhow::bail!("chat.edge_secret: must be set (the same on the server) to run a chat edge");
    };
    let url = link_url(&args.core)?;
    crate::logging::init(&cfg.log)?;
    let shutdown = ShutdownSignal::install()?;
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("--listen {}", args.listen))?;
    let mut settings = web::chat_edge::EdgeSettings::new(url, secret);
    settings.allowed_origins = cfg.http.allowed_origins.clone();
    settings.max_connections = args.max_connections.max(1);
    let edge = web::chat_edge::Edge::new(settings);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let link = tokio::spawn(edge.clone().run_link(stopped(stop_rx.clone())));
    // On stdout, so whoever started it with port 0 learns the port.
    println!("chat edge listening on {}", listener.local_addr()?);
    let server = tokio::spawn(web::serve(listener, edge.routes(), stopped(stop_rx)));
    shutdown.recv().await;
    let _ = stop_tx.send(true);
    let _ = link.await;
    server.await.context("chat edge server task")?.context("chat edge server")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_link_url_follows_the_core_address() {
        assert_eq!(super::link_url("http://127.0.0.1:8080").unwrap(), "ws://127.0.0.1:8080/chat/edge");
        assert_eq!(super::link_url("https://hl.example.com/").unwrap(), "wss://hl.example.com/chat/edge");
        assert!(super::link_url("127.0.0.1:8080").is_err());
    }
}
