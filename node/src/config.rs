//! The node's command line and configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Default lifetime of a bearer token, in seconds.
pub const DEFAULT_TOKEN_TTL: u64 = 900;
/// Default lifetime of a login challenge, in seconds (the platform's five minutes).
pub const DEFAULT_CHALLENGE_TTL: u64 = 300;
/// Default largest bundle a client may declare for upload: 256 MiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 256 * 1024 * 1024;
/// Default transfer chunk size: 4 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = 4 * 1024 * 1024;
/// Smallest chunk size the node accepts as configuration.
pub const MIN_CHUNK_SIZE: u64 = 1024;
/// Largest chunk size the node accepts as configuration: 64 MiB.
pub const MAX_CHUNK_SIZE: u64 = 64 * 1024 * 1024;

/// `bundle-node`: the reference node of bundle-vault.
#[derive(Debug, Clone, Parser)]
#[command(name = "bundle-node", version, about, long_about = None)]
pub struct Args {
    /// Address to listen on, e.g. 127.0.0.1:7001 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The node's name, as it appears in the manifest, receipts and delete requests.
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    pub name: String,
    /// Directory for the database (node.sqlite) and the node key (node-key.json); created if missing.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Demo mode: the first time an unknown DID logs in, create about N realistic items for it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub demo_items: u64,
    /// Lifetime of bearer tokens, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TOKEN_TTL,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: u64,
    /// Largest bundle size a transfer session may declare, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_UPLOAD,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_upload: u64,
    /// Transfer chunk size the node asks clients to use, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_CHUNK_SIZE,
          value_parser = clap::value_parser!(u64).range(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE))]
    pub chunk_size: u64,
    /// Lifetime of login challenges, in seconds (for tests; the platform uses 300).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_CHALLENGE_TTL,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub challenge_ttl: u64,
    /// Enable the /dev/ endpoints: mutate, fault, expire-tokens, canned (unauthenticated; for tests
    /// and benchmarks only, never on a node with real data).
    #[arg(long)]
    pub dev_endpoints: bool,
}

/// Everything a running node needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The node's name.
    pub name: String,
    /// Data directory.
    pub data: PathBuf,
    /// Demo items per new account (0: demo mode off).
    pub demo_items: u64,
    /// Token lifetime, seconds.
    pub token_ttl: u64,
    /// Largest declared bundle size, bytes.
    pub max_upload: u64,
    /// Transfer chunk size, bytes.
    pub chunk_size: u64,
    /// Challenge lifetime, seconds.
    pub challenge_ttl: u64,
    /// Whether the /dev/ endpoints (mutate, fault, expire-tokens) are enabled.
    pub dev_endpoints: bool,
}

impl Config {
    /// A configuration with the defaults, for the given address, name and data directory.
    pub fn new(listen: SocketAddr, name: &str, data: PathBuf) -> Self {
        Config {
            listen,
            name: name.to_owned(),
            data,
            demo_items: 0,
            token_ttl: DEFAULT_TOKEN_TTL,
            max_upload: DEFAULT_MAX_UPLOAD,
            chunk_size: DEFAULT_CHUNK_SIZE,
            challenge_ttl: DEFAULT_CHALLENGE_TTL,
            dev_endpoints: false,
        }
    }
}

impl From<Args> for Config {
    fn from(args: Args) -> Self {
        Config {
            listen: args.listen,
            name: args.name,
            data: args.data,
            demo_items: args.demo_items,
            token_ttl: args.token_ttl,
            max_upload: args.max_upload,
            chunk_size: args.chunk_size,
            challenge_ttl: args.challenge_ttl,
            dev_endpoints: args.dev_endpoints,
        }
    }
}

/// A node name: 1 to 256 bytes of printable ASCII without spaces (it travels in JSON and in logs).
pub fn parse_name(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > 256 || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a node name is 1 to 256 printable ASCII characters without spaces".into());
    }
    Ok(text.to_owned())
}
