//! No secret reaches the console: neither the vault's Rust code (outside unit tests) nor the app's
//! scripts write to the browser console at all, so a key, passphrase or token cannot leak that way.
//! (What is stored is scanned by tests/vault.rs; errors and Debug output by the keystore's and keys'
//! unit tests.)
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// Files under `dir` (recursively) whose name ends with one of `extensions`.
fn sources(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if extensions
                .iter()
                .any(|ext| path.extension().is_some_and(|e| e == *ext))
            {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn nothing_writes_to_the_console() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut scanned = 0;
    for (dir, extensions, needles) in [
        (
            "src",
            &["rs"][..],
            &[
                "console::",
                "console_log",
                "console_error",
                "println!",
                "eprintln!",
                "dbg!",
            ][..],
        ),
        ("www", &["js", "mjs", "html"][..], &["console."][..]),
    ] {
        for path in sources(&root.join(dir), extensions) {
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests (at the end of a module) may print: they never run in a browser.
            let shipped = ["#[cfg(test)]", "#[cfg(all(test"]
                .iter()
                .filter_map(|marker| text.find(marker))
                .min()
                .map_or(text.as_str(), |end| &text[..end]);
            for (n, line) in shipped.lines().enumerate() {
                for needle in needles {
                    assert!(
                        !line.contains(needle),
                        "{}:{}: {needle} writes to the console: {line}",
                        path.display(),
                        n + 1
                    );
                }
            }
            scanned += 1;
        }
    }
    assert!(scanned > 10, "only {scanned} files scanned");
}
