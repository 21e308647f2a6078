//! The node's service manifest (`GET /.well-known/bundle-node`), read strictly, with its URLs resolved
//! against the manifest's own URL.

use serde_json::Value;

use super::did;
use super::error::{excerpt, Error, Result};

/// One service a node offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service's name.
    pub name: String,
    /// The bundle section its items belong to.
    pub section: String,
    /// Absolute URL of `exportForDid`.
    pub export: String,
    /// Absolute URL of `countForDid`.
    pub count: String,
    /// Absolute URL of `deleteForDid`.
    pub delete: String,
}

/// A node's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The node's name.
    pub node: String,
    /// The node's key, `did:key:z6Mk…`: it signs export pages and receipts.
    pub did: String,
    /// The node's public key (decoded from `did`).
    pub public_key: [u8; 32],
    /// Absolute URL of the auth challenge endpoint.
    pub challenge: String,
    /// Absolute URL of the auth verify endpoint.
    pub verify: String,
    /// Absolute URL of the transfer endpoint.
    pub transfer: String,
    /// The services, in the manifest's order.
    pub services: Vec<Service>,
}

/// Most services a manifest may list.
const MAX_SERVICES: usize = 256;

impl Manifest {
    /// Reads a manifest fetched from `url`.
    pub fn from_value(value: &Value, url: &str) -> Result<Self> {
        let bad =
            |why: String| Error::ExportMalformed(format!("manifest at {}: {why}", excerpt(url)));
        let text = |v: &Value, key: &str| -> Result<String> {
            v.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= 2048)
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("{key} must be a non-empty string")))
        };
        let link = |v: &Value, key: &str| -> Result<String> { resolve(url, &text(v, key)?) };
        let node_did = text(value, "did")?;
        if !node_did.starts_with(did::KEY_PREFIX) {
            return Err(bad("did must be the node's did:key".into()));
        }
        let public_key = did::public_key(&node_did)?;
        let auth = value
            .get("auth")
            .ok_or_else(|| bad("auth is missing".into()))?;
        let list = value
            .get("services")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("services must be an array".into()))?;
        if list.len() > MAX_SERVICES {
            return Err(bad(format!("more than {MAX_SERVICES} services")));
        }
        let mut services = Vec::with_capacity(list.len());
        for s in list {
            let service = Service {
                name: text(s, "name")?,
                section: text(s, "section")?,
                export: link(s, "export")?,
                count: link(s, "count")?,
                delete: link(s, "delete")?,
            };
            if services
                .iter()
                .any(|other: &Service| other.name == service.name)
            {
                return Err(bad(format!(
                    "service {} is listed twice",
                    excerpt(&service.name)
                )));
            }
            services.push(service);
        }
        Ok(Manifest {
            node: text(value, "node")?,
            did: node_did,
            public_key,
            challenge: link(auth, "challenge")?,
            verify: link(auth, "verify")?,
            transfer: link(value, "transfer")?,
            services,
        })
    }

    /// The service of that name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// Checks a node URL given by the caller: absolute `http://` or `https://` with a host, no spaces
/// or control characters, at most 2048 bytes. Anything else is `INVALID_ARGUMENT` (a relative
/// text would otherwise be fetched against the page's own origin).
pub fn check_url(url: &str) -> Result<()> {
    let bad = |why: &str| Error::InvalidArgument(format!("{}: {why}", excerpt(url)));
    if url.len() > 2048 {
        return Err(bad("longer than 2048 bytes"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("a URL has no spaces or control characters"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("a node URL starts with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(bad("the URL has no host"));
    }
    Ok(())
}

/// The scheme a link starts with (`scheme:` as RFC 3986 spells it), if any.
fn scheme_of(link: &str) -> Option<&str> {
    let (scheme, _) = link.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// Resolves a manifest link: absolute `http(s)://…`, origin-relative `/…`, or relative to the
/// manifest's directory. A link with any other scheme (`javascript:`, `data:`, `file:`…), or with
/// spaces or control characters, is `EXPORT_MALFORMED`: it is never fetched as a relative path.
pub fn resolve(base: &str, link: &str) -> Result<String> {
    let bad = || {
        Error::ExportMalformed(format!(
            "cannot resolve {} against {}",
            excerpt(link),
            excerpt(base)
        ))
    };
    if let Some(scheme) = scheme_of(link) {
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(Error::ExportMalformed(format!(
                "{}: a manifest link is http(s) or relative",
                excerpt(link)
            )));
        }
        let lower = format!("{}{}", scheme.to_ascii_lowercase(), &link[scheme.len()..]);
        check_url(&lower).map_err(|e| Error::ExportMalformed(e.to_string()))?;
        return Ok(lower);
    }
    if link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::ExportMalformed(format!(
            "{}: a link has no spaces or control characters",
            excerpt(link)
        )));
    }
    let scheme_end = base.find("://").ok_or_else(bad)? + 3;
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let origin = &base[..path_start];
    if link.starts_with("//") {
        return Ok(format!("{}{link}", &base[..scheme_end - 2]));
    }
    if let Some(path) = link.strip_prefix('/') {
        return Ok(format!("{origin}/{path}"));
    }
    let path = &base[path_start..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    Ok(format!("{origin}{dir}{link}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keys::Keypair;
    use serde_json::json;

    const URL: &str = "http://127.0.0.1:7001/.well-known/bundle-node";

    fn manifest() -> Value {
        json!({
            "node": "source",
            "did": Keypair::from_seed(&[1; 32]).did_key(),
            "auth": {"challenge": "/auth/challenge", "verify": "/auth/verify"},
            "transfer": "/transfer",
            "services": [{"name": "media", "section": "media", "export": "/services/media/export",
                          "count": "https://other.example/count", "delete": "delete"}]
        })
    }

    #[test]
    fn reads_and_resolves() {
        let m = Manifest::from_value(&manifest(), URL).unwrap();
        assert_eq!(m.challenge, "http://127.0.0.1:7001/auth/challenge");
        let media = m.service("media").unwrap();
        assert_eq!(media.export, "http://127.0.0.1:7001/services/media/export");
        assert_eq!(media.count, "https://other.example/count");
        assert_eq!(media.delete, "http://127.0.0.1:7001/.well-known/delete");
        assert_eq!(m.public_key, Keypair::from_seed(&[1; 32]).public_key());
    }

    #[test]
    fn resolution_rules() {
        assert_eq!(
            resolve("https://a.b/x/y?q=1", "z").unwrap(),
            "https://a.b/x/z"
        );
        assert_eq!(resolve("https://a.b", "z").unwrap(), "https://a.b/z");
        assert_eq!(
            resolve("https://a.b/x/", "//c.d/e").unwrap(),
            "https://c.d/e"
        );
        assert!(resolve("not a url", "z").is_err());
        for hostile in [
            "javascript:alert(1)",
            "data:application/json,{}",
            "file:///etc/passwd",
            "blob:http://a.b/x",
            "http://",
            "http:///x",
            "with space",
            "tab\there",
        ] {
            assert_eq!(
                resolve("https://a.b/x/", hostile).unwrap_err().code(),
                "EXPORT_MALFORMED",
                "{hostile}"
            );
        }
        assert_eq!(
            resolve("https://a.b/", "HTTPS://c.d/e").unwrap(),
            "https://c.d/e"
        );
        assert_eq!(
            resolve("https://a.b/x/", "e:f").unwrap_err().code(),
            "EXPORT_MALFORMED"
        );
        // A relative path whose first segment has a colon after a slash is a path, not a scheme.
        assert_eq!(
            resolve("https://a.b/x/", "./e:f").unwrap(),
            "https://a.b/x/./e:f"
        );
    }

    #[test]
    fn node_urls_are_checked() {
        for ok in [URL, "https://node.example", "http://[::1]:7001/x?y#z"] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        let long = format!("https://a.b/{}", "x".repeat(2048));
        for bad in [
            "not a url",
            "",
            "ftp://a.b/",
            "http://",
            "https:///x",
            "http://:80/",
            "http://a b/",
            "http://a\n/",
            &long,
        ] {
            assert_eq!(
                check_url(bad).unwrap_err().code(),
                "INVALID_ARGUMENT",
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_malformed() {
        let cases: Vec<(&str, Value)> = vec![
            ("did", json!("did:imajin:abc")),
            ("did", json!(1)),
            ("services", json!({})),
            ("services", json!([{"name": "a"}])),
            ("auth", json!(null)),
            ("node", json!("")),
        ];
        for (key, value) in cases {
            let mut m = manifest();
            m[key] = value.clone();
            assert!(Manifest::from_value(&m, URL).is_err(), "{key} = {value}");
        }
        let mut twice = manifest();
        let s = twice["services"][0].clone();
        twice["services"].as_array_mut().unwrap().push(s);
        assert_eq!(
            Manifest::from_value(&twice, URL).unwrap_err().code(),
            "EXPORT_MALFORMED"
        );
    }
}
