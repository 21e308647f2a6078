//! SQLite storage: one connection behind a mutex, used from blocking threads
//! (`tokio::task::spawn_blocking`), in WAL mode, with migrations ([`migrations`]).
//!
//! Service data lives in one table per service ([`items`]); the other tables hold login challenges,
//! tokens, delete nonces, deletion receipts, transfer sessions and their chunks, accounts, the service
//! registry and the change-sequence counter. Nothing is kept only in memory.
//!
//! The WAL is copied back into the database file by a thread of its own with a second connection
//! ([`Checkpointer`]), not by the connection that commits: SQLite's automatic checkpoint would run
//! inside the commit of every request that grows the WAL past 1,000 pages (a transfer of 100,000
//! items waited 0.3 s for it).

pub mod items;
pub mod migrations;

use std::path::Path;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::{ApiError, ApiResult};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "node.sqlite";

/// The node's database.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    checkpointer: Checkpointer,
}

impl Db {
    /// Opens (or creates) `DATA/node.sqlite` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join(DB_FILE);
        create_private(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let mut conn =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        configure(&conn).map_err(|e| format!("cannot configure {}: {e}", path.display()))?;
        migrations::migrate(&mut conn)
            .map_err(|e| format!("cannot migrate {}: {e}", path.display()))?;
        let checkpointer = Checkpointer::start(&path)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            checkpointer,
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.call_blocking(f))
            .await
            .map_err(|e| ApiError::internal(format!("storage task failed: {e}")))?
    }

    /// Runs `f` with the connection on the current thread ([`Db::call`] runs it on a blocking one;
    /// directly, only at start-up and shutdown), then wakes the checkpoint thread if `f` changed rows.
    pub fn call_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> ApiResult<T>,
    ) -> ApiResult<T> {
        // A panic while holding the lock leaves SQLite consistent (an open transaction is rolled
        // back when dropped), so a poisoned lock is still usable.
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = guard.total_changes();
        let answer = f(&mut guard);
        let wrote = guard.total_changes() != before;
        drop(guard);
        if wrote {
            self.checkpointer.wake();
        }
        answer
    }
}

/// Copies the WAL back into the database file on its own thread and connection, after each call
/// that changed rows.
/// Wake-ups while a checkpoint runs are merged into one more. When the last [`Db`] clone is dropped,
/// the thread is told to end and waited for: its connection is closed (and SQLite has removed the
/// WAL files) before a stopped node is reported stopped.
#[derive(Clone)]
struct Checkpointer {
    thread: Arc<CheckpointThread>,
}

struct CheckpointThread {
    wake: Option<SyncSender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for CheckpointThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once a running checkpoint is done.
        drop(self.wake.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self, String> {
        let conn = Connection::open(path)
            .and_then(|conn| {
                conn.pragma_update(None, "synchronous", "FULL")?;
                conn.busy_timeout(std::time::Duration::from_secs(5))?;
                Ok(conn)
            })
            .map_err(|e| format!("cannot open {} to checkpoint: {e}", path.display()))?;
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let handle = std::thread::Builder::new()
            .name("bundle-node-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // PASSIVE: copies what no reader still needs, never waits for one or blocks a
                    // writer; what it leaves is copied after the next write.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        eprintln!("bundle-node: checkpoint failed: {e}");
                    }
                }
            })
            .map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
        Ok(Checkpointer {
            thread: Arc::new(CheckpointThread {
                wake: Some(wake),
                handle: Some(handle),
            }),
        })
    }

    fn wake(&self) {
        // Full: a checkpoint is already due, and it will see this write too.
        if let Some(wake) = &self.thread.wake {
            match wake.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // 16 KiB pages for a new database (an existing one keeps its size): items of about 600 bytes
    // stored in key order split pages a quarter as often as with 4 KiB. A transfer's commit of
    // 100,000 items over the DID's tombstones went from about 1.9 s to 1.4 s, its upload from 1.5 s
    // to 0.9 s.
    conn.pragma_update(None, "page_size", 16384)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a signed receipt is only sent for a transaction that survives a power failure.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    conn.pragma_update(None, "cache_size", -65536i64)?;
    // Checkpoints run on the Checkpointer's thread instead.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Makes the database file readable by the node's user alone (it holds every user's data): created
/// so if new, its mode narrowed if it exists (a database of an earlier version). SQLite gives its WAL
/// and shared-memory files the database file's mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // With the WAL and shared-memory files a crash may have left beside it.
            #[cfg(unix)]
            for file in ["", "-wal", "-shm"] {
                use std::os::unix::fs::PermissionsExt;
                let mut name = path.as_os_str().to_owned();
                name.push(file);
                let Ok(meta) = std::fs::metadata(&name) else {
                    continue;
                };
                let mode = meta.permissions().mode();
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(&name, std::fs::Permissions::from_mode(mode & 0o700))?;
                }
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The database and its WAL are the node user's alone.
    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A database an earlier version left readable by others is narrowed too, with its WAL.
        for name in [DB_FILE.to_owned(), format!("{DB_FILE}-wal")] {
            std::fs::write(dir.path().join(&name), b"").unwrap();
            std::fs::set_permissions(
                dir.path().join(&name),
                std::fs::Permissions::from_mode(0o644),
            )
            .unwrap();
        }
        let db = Db::open(dir.path()).unwrap();
        db.call(|conn| Ok(conn.execute_batch("CREATE TABLE t (x)")?))
            .await
            .unwrap();
        for name in [DB_FILE.to_owned(), format!("{DB_FILE}-wal")] {
            let mode = std::fs::metadata(dir.path().join(&name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    /// A new database has 16 KiB pages; written rows reach its file without SQLite's automatic
    /// checkpoint (turned off): the checkpoint thread copies them there from the WAL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn new_databases_have_16_kib_pages_and_writes_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let file_len = || std::fs::metadata(dir.path().join(DB_FILE)).unwrap().len();
        let before = file_len();
        db.call(|conn| {
            conn.execute_batch("CREATE TABLE filler (data BLOB NOT NULL)")?;
            let blob = vec![7u8; 1 << 20];
            for _ in 0..4 {
                conn.execute("INSERT INTO filler (data) VALUES (?1)", [&blob])?;
            }
            Ok(())
        })
        .await
        .unwrap();
        let autocheckpoint: i64 = db
            .call(|conn| Ok(conn.pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(autocheckpoint, 0);
        let page_size: i64 = db
            .call(|conn| Ok(conn.pragma_query_value(None, "page_size", |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(page_size, 16384);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while file_len() < before + (4 << 20) {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {} bytes",
                file_len()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Once the last handle is dropped, both connections are closed: SQLite has removed the WAL
    /// files, and no thread of the node touches the directory any more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_last_handle_closes_every_connection() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let other = db.clone();
        db.call(|conn| Ok(conn.execute_batch("CREATE TABLE t (x INTEGER)")?))
            .await
            .unwrap();
        drop(db);
        let wal = dir.path().join(format!("{DB_FILE}-wal"));
        assert!(wal.exists(), "a clone still holds the database");
        drop(other);
        assert!(!wal.exists(), "a connection outlived the last handle");
        assert!(!dir.path().join(format!("{DB_FILE}-shm")).exists());
    }
}
