//! SQLite storage: one connection behind a mutex, used from blocking threads
//! (`tokio::task::spawn_blocking`), in WAL mode, with migrations ([`migrations`]).
//!
//! Service data lives in one table per service ([`items`]); the other tables hold login challenges,
//! tokens, delete nonces, deletion receipts, transfer sessions and their chunks, accounts, the service
//! registry and the change-sequence counter. Nothing is kept only in memory.

pub mod items;
pub mod migrations;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::{ApiError, ApiResult};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "node.sqlite";

/// The node's database.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (or creates) `DATA/node.sqlite` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join(DB_FILE);
        let mut conn =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        configure(&conn).map_err(|e| format!("cannot configure {}: {e}", path.display()))?;
        migrations::migrate(&mut conn)
            .map_err(|e| format!("cannot migrate {}: {e}", path.display()))?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves SQLite consistent (an open transaction is rolled
            // back when dropped), so a poisoned lock is still usable.
            let mut guard = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError::internal(format!("storage task failed: {e}")))?
    }

    /// Runs `f` with the connection on the current thread (start-up and shutdown only).
    pub fn call_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a signed receipt is only sent for a transaction that survives a power failure.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    conn.pragma_update(None, "cache_size", -65536i64)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}
