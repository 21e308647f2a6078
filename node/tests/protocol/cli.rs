//! The binary: one ready line with the real port, then a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::*;

#[test]
fn prints_its_manifest_url_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bundle-node"))
        .args(["--listen", "127.0.0.1:0", "--name", "cli-node", "--data"])
        .arg(dir.path().join("data"))
        .args(["--demo-items", "10", "--token-ttl", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("bundle-node cli-node listening: ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/.well-known/bundle-node"));
    assert!(!url.contains(":0/"), "{url}");
    let base = url.trim_end_matches("/.well-known/bundle-node");
    let client = Client::new(base);
    assert_eq!(client.manifest().node, "cli-node");
    let user = keypair(71);
    let token = client.login(&user);
    assert_eq!(client.count(&token, "profile", &user.did())["profile"], 1);
    // The key file is private and holds no secret in the clear elsewhere.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/node-key.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let seed = std::fs::read_to_string(dir.path().join("data/node-key.json")).unwrap();
    let seed: serde_json::Value = serde_json::from_str(&seed).unwrap();
    assert!(!stderr.contains(seed["seed"].as_str().unwrap()));
}
