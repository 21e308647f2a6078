//! `bundle-node --listen ADDR --name NAME --data DIR [--demo-items N] [--token-ttl SECS]
//! [--max-upload BYTES] [--dev-endpoints]`
//!
//! Prints exactly one line, `bundle-node NAME listening: http://ADDR/.well-known/bundle-node`, once it
//! accepts connections; stops gracefully on SIGINT or SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use bundle_node::config::{Args, Config};
use clap::Parser;

fn main() -> ExitCode {
    let config: Config = Args::parse().into();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bundle-node: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bundle-node: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), String> {
    let name = config.name.clone();
    let handle = bundle_node::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "bundle-node {name} listening: {}", handle.manifest_url)
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    shutdown_signal().await;
    eprintln!("bundle-node {name}: shutting down");
    handle.shutdown().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
