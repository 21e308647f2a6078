//! The node's own Ed25519 key, kept in `DATA/node-key.json` as `{"seed": "<64 hex>"}` (file mode
//! 0600 on Unix). Created on first start; never logged.

use std::fs;
use std::io::Write;
use std::path::Path;

use bundle_vault::core::keys::Keypair;
use serde_json::{json, Value};

/// File name of the node key inside the data directory.
pub const KEY_FILE: &str = "node-key.json";

/// Loads the node key, or creates and stores a new one.
pub fn load_or_create(data_dir: &Path) -> Result<Keypair, String> {
    let path = data_dir.join(KEY_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => parse(&text).map_err(|why| format!("{}: {why}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn parse(text: &str) -> Result<Keypair, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|_| "not a node key file (JSON)".to_owned())?;
    let seed_hex = value
        .get("seed")
        .and_then(Value::as_str)
        .ok_or("the key file has no \"seed\"")?;
    let seed = hex::decode(seed_hex).map_err(|_| "the seed is not hex".to_owned())?;
    Keypair::from_seed_slice(&seed).map_err(|e| e.to_string())
}

fn create(path: &Path) -> Result<Keypair, String> {
    let key = Keypair::generate().map_err(|e| e.to_string())?;
    let text = key.with_seed(|seed| {
        json!({
            "seed": hex::encode(seed),
            "did": key.did_key(),
            "note": "the reference node's signing key: keep this file private",
        })
        .to_string()
    });
    // Written whole beside it, then linked into place: a crash while writing leaves no empty or
    // partial key file, and a key file that appeared meanwhile is never replaced.
    // Named for this process: another node starting on the same directory writes its own.
    let partial = path.with_extension(format!("json.{}.partial", std::process::id()));
    let _ = fs::remove_file(&partial);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&partial).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| fs::hard_link(&partial, path));
    let _ = fs::remove_file(&partial);
    match linked {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                let _ = fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(key)
        }
        // Another process created it first: that key is the node's.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            parse(&text).map_err(|why| format!("{}: {why}", path.display()))
        }
        Err(e) => Err(format!("cannot write {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [KEY_FILE], "no partial file is left");
        fs::write(dir.path().join(KEY_FILE), "{\"seed\":\"zz\"}").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }
}
