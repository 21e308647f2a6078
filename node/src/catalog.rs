//! The services a node offers. The eight built-in services are the RFC's sections (name == section);
//! a bundle imported with another section (a plugin service's data) registers that section as a
//! further service with its own table, so that the node can export, count and delete it as well.

use bundle_vault::core::export::is_portable_name;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{ApiError, ApiResult};
use crate::storage::items;

/// A built-in service.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Service name, which is also its bundle section.
    pub name: &'static str,
    /// Its collections.
    pub collections: &'static [&'static str],
}

/// The eight built-in services, in manifest order.
pub const BUILTIN: [Builtin; 8] = [
    Builtin {
        name: "identity",
        collections: &["attestations", "tier"],
    },
    Builtin {
        name: "profile",
        collections: &["profile", "follows"],
    },
    Builtin {
        name: "media",
        collections: &["assets", "contexts"],
    },
    Builtin {
        name: "events",
        collections: &["tickets", "orders"],
    },
    Builtin {
        name: "chat",
        collections: &["messages"],
    },
    Builtin {
        name: "connections",
        collections: &["graph", "nicknames"],
    },
    Builtin {
        name: "learn",
        collections: &["enrollments", "progress"],
    },
    Builtin {
        name: "fair",
        collections: &["manifests"],
    },
];

/// A service as registered in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Name (== section).
    pub name: String,
    /// Known collections, in registration order.
    pub collections: Vec<String>,
}

/// All services, in manifest order.
pub fn list(conn: &Connection) -> ApiResult<Vec<Service>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, collections FROM services ORDER BY position")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    rows.map(|row| {
        let (name, collections) = row?;
        to_service(name, &collections)
    })
    .collect()
}

/// The service of that name, or 404 UNKNOWN_SERVICE.
pub fn get(conn: &Connection, name: &str) -> ApiResult<Service> {
    let found = conn
        .prepare_cached("SELECT name, collections FROM services WHERE name = ?1")?
        .query_row([name], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .optional()?;
    match found {
        Some((name, collections)) => to_service(name, &collections),
        None => Err(ApiError::not_found(
            "UNKNOWN_SERVICE",
            format!("this node has no service {name:?}"),
        )),
    }
}

/// Most services a node holds, the built-in ones included: any user's bundle may register sections,
/// each a table every import and the manifest go through, so they are capped.
pub const MAX_SERVICES: usize = 64;
/// Most collections a service lists.
pub const MAX_COLLECTIONS: usize = 64;

/// Makes sure a service exists with at least these collections: registers a new section (and
/// creates its table) or adds collections it did not list yet. Runs inside the caller's transaction.
/// Beyond [`MAX_SERVICES`] or [`MAX_COLLECTIONS`], `413 TOO_LARGE`.
pub fn ensure(conn: &Connection, name: &str, collections: &[String]) -> ApiResult<Service> {
    if !is_portable_name(name) {
        return Err(ApiError::bad_request(
            "BUNDLE_MALFORMED",
            format!("section name {name:?} is not lowercase letters and '_'"),
        ));
    }
    let mut service = match get(conn, name) {
        Ok(service) => service,
        Err(e) if e.code == "UNKNOWN_SERVICE" => {
            let held: i64 =
                conn.query_row("SELECT count(*) FROM services", [], |row| row.get(0))?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= MAX_SERVICES {
                return Err(ApiError::too_large(format!(
                    "this node holds at most {MAX_SERVICES} services; section {name:?} would be \
                     one more"
                )));
            }
            items::create_table(conn, name)?;
            let position: i64 = conn.query_row(
                "SELECT coalesce(max(position), -1) + 1 FROM services",
                [],
                |row| row.get(0),
            )?;
            conn.execute(
                "INSERT INTO services (name, position, builtin, collections) VALUES (?1, ?2, 0, '[]')",
                params![name, position],
            )?;
            Service {
                name: name.to_owned(),
                collections: Vec::new(),
            }
        }
        Err(e) => return Err(e),
    };
    let missing: Vec<&String> = collections
        .iter()
        .filter(|c| !service.collections.contains(c))
        .collect();
    if !missing.is_empty() {
        if service.collections.len() + missing.len() > MAX_COLLECTIONS {
            return Err(ApiError::too_large(format!(
                "a service of this node lists at most {MAX_COLLECTIONS} collections; section \
                 {name:?} would list {}",
                service.collections.len() + missing.len()
            )));
        }
        service.collections.extend(missing.into_iter().cloned());
        let text = serde_json::to_string(&service.collections)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        conn.execute(
            "UPDATE services SET collections = ?1 WHERE name = ?2",
            params![text, name],
        )?;
    }
    Ok(service)
}

fn to_service(name: String, collections: &str) -> ApiResult<Service> {
    let collections: Vec<String> = serde_json::from_str(collections)
        .map_err(|e| ApiError::internal(format!("service registry of {name}: {e}")))?;
    Ok(Service { name, collections })
}
