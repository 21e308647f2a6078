//! A node on its own thread and runtime, for tests and for embedding the node in a synchronous
//! program: start it, talk to it over HTTP from any thread, stop it.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::config::Config;
use crate::server;

/// A node running on a background thread. Dropping it stops the node.
pub struct BackgroundNode {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its manifest URL.
    pub manifest_url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl BackgroundNode {
    /// Starts a node; returns once it accepts connections.
    pub fn start(config: Config) -> Result<Self, String> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(SocketAddr, String), String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bundle-node".into())
            .spawn(move || -> Result<(), String> {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async move {
                    let handle = match server::start(config).await {
                        Ok(handle) => handle,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.clone()));
                            return Err(e);
                        }
                    };
                    let _ = ready_tx.send(Ok((handle.addr, handle.manifest_url.clone())));
                    let _ = stop_rx.await;
                    handle.shutdown().await
                })
            })
            .map_err(|e| e.to_string())?;
        match ready_rx.recv() {
            Ok(Ok((addr, manifest_url))) => Ok(BackgroundNode {
                addr,
                manifest_url,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(match thread.join() {
                Ok(Err(e)) => e,
                _ => "the node thread ended before it was ready".into(),
            }),
        }
    }

    /// The node's base URL, `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the node and waits until its thread (and database connection) is gone.
    pub fn stop(mut self) -> Result<(), String> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), String> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| "the node thread panicked".to_owned())?,
            None => Ok(()),
        }
    }
}

impl Drop for BackgroundNode {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}
