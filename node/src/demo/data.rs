//! Generators of realistic items, one per collection, modelled on the platform's tables (see
//! PLATFORM.md): ids like `att_…`, `asset_…`, `tkt_<base36 ms>_<6 hex>_<n>`, `msg_<24 hex>`, owner DIDs,
//! timestamps, sizes, SHA-256 hashes, nested metadata and multilingual text. Data keys are lowercase
//! `snake_case` without digits; numbers are safe integers or plain decimals; money is
//! `{amount, currency}` in minor units.

use bundle_vault::core::did::{self, Method};
use serde_json::{json, Value};

use super::rng::Rng;
use super::text;
use crate::clock::timestamp;

/// What every generator needs to know about the account.
pub struct Account {
    /// The owner's DID.
    pub did: String,
    /// The owner's handle.
    pub handle: String,
    /// DIDs of the people the owner deals with.
    pub peers: Vec<String>,
    /// The platform's own DID (issuer of some attestations).
    pub platform: String,
    /// When the account was created (Unix ms).
    pub start: u64,
    /// The latest time demo data may carry (Unix ms).
    pub end: u64,
    /// Asset ids made so far (messages, contexts and manifests refer to them).
    pub assets: Vec<String>,
    /// Event ids the owner has tickets for.
    pub events: Vec<String>,
    /// Enrollment ids (progress refers to them).
    pub enrollments: Vec<String>,
}

/// A generated item: id, when it was created and last updated, and its data.
pub struct Generated {
    /// Item id.
    pub id: String,
    /// Last update (Unix ms).
    pub updated: u64,
    /// Data.
    pub data: Value,
}

impl Account {
    /// An account for `did`, drawing its shape from `rng`.
    pub fn new(did: &str, rng: &mut Rng, start: u64, end: u64) -> Self {
        let peers = (0..24)
            .map(|_| did::encode(&rng.bytes32(), Method::Imajin))
            .collect();
        let platform = did::encode(&rng.bytes32(), Method::Imajin);
        let handle = format!(
            "{}{}",
            rng.pick(&["zoe", "andre", "mel", "juergen", "sio", "jose", "asa", "chloe"]),
            rng.below(1000)
        );
        let events = (0..8).map(|_| format!("evt_{}", rng.hex(8))).collect();
        Account {
            did: did.to_owned(),
            handle,
            peers,
            platform,
            start,
            end,
            assets: Vec::new(),
            events,
            enrollments: Vec::new(),
        }
    }

    fn time(&self, rng: &mut Rng) -> u64 {
        rng.range(self.start, self.end)
    }

    fn later(&self, rng: &mut Rng, after: u64) -> u64 {
        rng.range(after, self.end.max(after + 1))
    }

    fn peer(&self, rng: &mut Rng) -> String {
        rng.pick(&self.peers).clone()
    }
}

fn ts(ms: u64) -> String {
    timestamp(ms)
}

fn opt_ts(ms: Option<u64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::String(ts(ms)))
}

fn money(rng: &mut Rng, min: u64, max: u64) -> Value {
    let amount = rng.range(min / 50, max / 50) * 50;
    json!({"amount": amount, "currency": rng.pick(&["CAD", "CAD", "USD", "EUR"])})
}

/// `identity/tier`: one item, id `tier`.
pub fn tier(account: &Account) -> Generated {
    Generated {
        id: "tier".into(),
        updated: account.start + 86_400_000,
        data: json!({"tier": "established"}),
    }
}

/// `profile/profile`: one item whose id is the DID.
pub fn profile(rng: &mut Rng, account: &Account) -> Generated {
    let updated = account.later(rng, account.start);
    let (city, country) = *rng.pick(text::PLACES);
    Generated {
        id: account.did.clone(),
        updated,
        data: json!({
            "did": account.did,
            "handle": account.handle,
            "display_name": rng.pick(text::NAMES),
            "avatar": format!("https://media.imajin.ai/{}/avatar.webp", account.handle),
            "banner": null,
            "bio": rng.pick(text::BIOS),
            "contact_email": format!("{}@example.org", account.handle),
            "phone": null,
            "visibility": "public",
            "metadata": {
                "pronouns": rng.pick(&["elle", "il", "iel", "they"]),
                "location": {"city": city, "country": country},
                "links": [format!("https://{}.example.org", account.handle)],
            },
            "field_visibility": {"contact_email": "connections", "phone": "private", "bio": "public"},
            "feature_toggles": {"show_tips": true, "show_market": rng.chance(50), "beta_learn": false},
            "created_at": ts(account.start),
            "updated_at": ts(updated),
        }),
    }
}

/// `chat/messages`.
pub fn message(rng: &mut Rng, account: &Account) -> Generated {
    let created = account.time(rng);
    let edited = rng.chance(5).then(|| account.later(rng, created));
    let mine = rng.chance(45);
    let from = if mine {
        account.did.clone()
    } else {
        account.peer(rng)
    };
    let attachment =
        (!account.assets.is_empty() && rng.chance(8)).then(|| rng.pick(&account.assets).clone());
    let (content_type, media_meta) = match &attachment {
        Some(_) => (
            "image",
            json!({"width": 1080, "height": rng.pick(&[1080, 1350, 1920]), "blurhash": format!("L{}", rng.hex(10))}),
        ),
        None => ("text", Value::Null),
    };
    let link_previews = if rng.chance(4) {
        json!([{"url": "https://imajin.ai/e/soiree-ete", "title": rng.pick(text::EVENTS), "description": "Billets en vente 🎟️", "image": null}])
    } else {
        json!([])
    };
    Generated {
        id: format!("msg_{}", rng.hex(12)),
        updated: edited.unwrap_or(created),
        data: json!({
            "conversation_did": rng.pick(&account.peers[..8]),
            "from_did": from,
            "content": rng.pick(text::MESSAGES),
            "content_type": content_type,
            "media_asset_id": attachment,
            "media_meta": media_meta,
            "reply_to": if rng.chance(10) { Value::String(format!("msg_{}", rng.hex(12))) } else { Value::Null },
            "link_previews": link_previews,
            "created_at": ts(created),
            "edited_at": opt_ts(edited),
            "deleted_at": null,
            "signature": rng.hex(64),
        }),
    }
}

/// `media/assets`.
pub fn asset(rng: &mut Rng, account: &mut Account) -> Generated {
    let created = account.time(rng);
    let id = format!("asset_{}", rng.hex(12));
    let kind = rng.below(10);
    let (mime, ext, size, metadata) = match kind {
        0..=5 => {
            let (city, country) = *rng.pick(text::PLACES);
            (
                "image/jpeg",
                "jpg",
                rng.range(180_000, 6_500_000),
                json!({
                    "width": rng.pick(&[3024, 4032, 1080, 2048]),
                    "height": rng.pick(&[4032, 3024, 1350, 1536]),
                    "camera": {"make": rng.pick(&["Apple", "Google", "Fujifilm"]), "model": rng.pick(&["iPhone 15", "Pixel 8", "X-T5"])},
                    "taken_at": ts(created.saturating_sub(rng.below(86_400_000))),
                    "location": {"city": city, "country": country},
                }),
            )
        }
        6 | 7 => (
            "audio/webm",
            "webm",
            rng.range(40_000, 2_000_000),
            json!({"duration_ms": rng.range(2_000, 180_000), "bitrate": 64_000, "transcript": null}),
        ),
        8 => (
            "video/mp4",
            "mp4",
            rng.range(2_000_000, 250_000_000),
            json!({"width": 1920, "height": 1080, "duration_ms": rng.range(5_000, 600_000), "codec": "h264"}),
        ),
        _ => (
            "application/pdf",
            "pdf",
            rng.range(50_000, 9_000_000),
            json!({"pages": rng.range(1, 60), "title": rng.pick(text::TITLES)}),
        ),
    };
    let folder = *rng.pick(&["chat", "chat", "profile", "events", "voice", "signed"]);
    let versions = if rng.chance(10) { rng.range(2, 5) } else { 1 };
    let updated = if versions > 1 {
        account.later(rng, created)
    } else {
        created
    };
    let tags: Vec<&str> = (0..rng.below(4)).map(|_| *rng.pick(text::TAGS)).collect();
    let data = json!({
        "owner_did": account.did,
        "filename": format!("{} {}.{ext}", rng.pick(text::TITLES), rng.below(100)),
        "mime_type": mime,
        "size": size,
        "storage_path": format!("media/{}/{folder}/{id}.{ext}", account.handle),
        "hash": rng.hex(32),
        "cid": format!("bafkrei{}", rng.base32(52)),
        "fair_manifest": if rng.chance(15) { Value::String(format!("fair_{}", rng.hex(12))) } else { Value::Null },
        "folder_id": folder,
        "tags": tags,
        "classification": rng.pick(&["personal", "personal", "public", "sensitive"]),
        "metadata": metadata,
        "status": if rng.chance(97) { "active" } else { "archived" },
        "version_count": versions,
        "immutable": folder == "signed",
        "created_at": ts(created),
        "updated_at": ts(updated),
    });
    account.assets.push(id.clone());
    Generated { id, updated, data }
}

/// `media/contexts`: where an asset was uploaded from.
pub fn context(rng: &mut Rng, account: &Account) -> Generated {
    let created = account.time(rng);
    let app = *rng.pick(&["chat", "profile", "events", "learn"]);
    let asset = if account.assets.is_empty() {
        Value::Null
    } else {
        Value::String(rng.pick(&account.assets).clone())
    };
    Generated {
        id: format!("ctx_{}", rng.hex(10)),
        updated: created,
        data: json!({
            "asset_id": asset,
            "app": app,
            "feature": rng.pick(&["attachment", "avatar", "cover", "voice_note"]),
            "entity_id": format!("{}_{}", &app[..3], rng.hex(8)),
            "access": rng.pick(&["private", "members", "public"]),
            "folder": app,
            "created_at": ts(created),
        }),
    }
}

/// `identity/attestations`.
pub fn attestation(rng: &mut Rng, account: &Account) -> Generated {
    const TYPES: &[(&str, &str)] = &[
        ("event.attendance", "event"),
        ("vouch", "identity"),
        ("connection.accepted", "connection"),
        ("ticket.purchased", "event"),
        ("learn.enrolled", "course"),
        ("learn.completed", "course"),
        ("transaction.settled", "payment"),
    ];
    let issued = account.time(rng);
    let (kind, context_type) = *rng.pick(TYPES);
    let revoked = rng.chance(3).then(|| account.later(rng, issued));
    let issuer = if rng.chance(60) {
        account.platform.clone()
    } else {
        account.peer(rng)
    };
    Generated {
        id: format!("att_{}", rng.hex(12)),
        updated: revoked.unwrap_or(issued),
        data: json!({
            "issuer_did": issuer,
            "subject_did": account.did,
            "type": kind,
            "context_id": format!("{}_{}", &context_type[..3], rng.hex(8)),
            "context_type": context_type,
            "payload": {"note": rng.pick(&["Merci ! 🙏", "Great collaborator", "Présent·e à l'événement"]), "weight": rng.range(1, 6)},
            "signature": rng.hex(64),
            "issued_at": ts(issued),
            "expires_at": if rng.chance(20) { Value::String(ts(issued + 365 * 86_400_000)) } else { Value::Null },
            "revoked_at": opt_ts(revoked),
        }),
    }
}

/// `profile/follows`.
pub fn follow(rng: &mut Rng, account: &Account) -> Generated {
    let created = account.time(rng);
    Generated {
        id: format!("fol_{}", rng.hex(10)),
        updated: created,
        data: json!({"follower_did": account.did, "followed_did": account.peer(rng), "created_at": ts(created)}),
    }
}

/// `events/tickets`.
pub fn ticket(rng: &mut Rng, account: &Account) -> Generated {
    let purchased = account.time(rng);
    let used = rng.chance(60).then(|| account.later(rng, purchased));
    let transferred = rng.chance(10);
    Generated {
        id: format!("tkt_{}_{}_{}", base36(purchased), rng.hex(3), rng.below(4)),
        updated: used.unwrap_or(purchased),
        data: json!({
            "event_id": rng.pick(&account.events),
            "event_name": rng.pick(text::EVENTS),
            "ticket_type_id": format!("tt_{}", rng.hex(6)),
            "owner_did": account.did,
            "original_owner_did": if transferred { account.peer(rng) } else { account.did.clone() },
            "purchased_at": ts(purchased),
            "price_paid": money(rng, 0, 15_000),
            "payment_id": format!("pay_{}", rng.hex(12)),
            "status": if used.is_some() { "used" } else { "valid" },
            "used_at": opt_ts(used),
            "signature": rng.hex(64),
        }),
    }
}

/// `events/orders`.
pub fn order(rng: &mut Rng, account: &Account) -> Generated {
    let created = account.time(rng);
    let count = rng.range(1, 4);
    let tickets: Vec<String> = (0..count)
        .map(|n| format!("tkt_{}_{}_{n}", base36(created), rng.hex(3)))
        .collect();
    Generated {
        id: format!("ord_{}", rng.hex(12)),
        updated: created,
        data: json!({
            "buyer_did": account.did,
            "event_id": rng.pick(&account.events),
            "ticket_ids": tickets,
            "total": money(rng, 1_000, 40_000),
            "fees": {"amount": 150 * count, "currency": "CAD"},
            "status": rng.pick(&["paid", "paid", "paid", "refunded"]),
            "payment_id": format!("pay_{}", rng.hex(12)),
            "created_at": ts(created),
        }),
    }
}

/// `connections/graph`.
pub fn connection(rng: &mut Rng, account: &Account) -> Generated {
    let connected = account.time(rng);
    let disconnected = rng.chance(7).then(|| account.later(rng, connected));
    Generated {
        id: format!("conn_{}", rng.hex(10)),
        updated: disconnected.unwrap_or(connected),
        data: json!({
            "did_a": account.did,
            "did_b": account.peer(rng),
            "connected_at": ts(connected),
            "disconnected_at": opt_ts(disconnected),
            "pod": if rng.chance(30) { json!({"name": rng.pick(&["Famille", "Atelier", "Équipe 🚀"]), "role": rng.pick(&["member", "admin"])}) } else { Value::Null },
        }),
    }
}

/// `connections/nicknames`.
pub fn nickname(rng: &mut Rng, account: &Account) -> Generated {
    let created = account.time(rng);
    Generated {
        id: format!("nick_{}", rng.hex(10)),
        updated: created,
        data: json!({"did": account.did, "target": account.peer(rng), "nickname": rng.pick(text::NICKNAMES), "created_at": ts(created)}),
    }
}

/// `learn/enrollments`.
pub fn enrollment(rng: &mut Rng, account: &mut Account) -> Generated {
    let enrolled = account.time(rng);
    let completed = rng.chance(40).then(|| account.later(rng, enrolled));
    let id = format!("enr_{}", rng.hex(10));
    account.enrollments.push(id.clone());
    Generated {
        id,
        updated: completed.unwrap_or(enrolled),
        data: json!({
            "course_id": format!("crs_{}", rng.hex(6)),
            "course_title": rng.pick(text::COURSES),
            "student_did": account.did,
            "payment_id": if rng.chance(70) { Value::String(format!("pay_{}", rng.hex(12))) } else { Value::Null },
            "enrolled_at": ts(enrolled),
            "completed_at": opt_ts(completed),
        }),
    }
}

/// `learn/progress`.
pub fn progress(rng: &mut Rng, account: &Account) -> Generated {
    let started = account.time(rng);
    let done = rng.chance(70);
    let completed = done.then(|| account.later(rng, started));
    let enrollment = if account.enrollments.is_empty() {
        format!("enr_{}", rng.hex(10))
    } else {
        rng.pick(&account.enrollments).clone()
    };
    Generated {
        id: format!("prg_{}", rng.hex(10)),
        updated: completed.unwrap_or(started),
        data: json!({
            "enrollment_id": enrollment,
            "lesson_id": format!("lsn_{}", rng.hex(6)),
            "status": if done { "completed" } else { "in_progress" },
            "started_at": ts(started),
            "completed_at": opt_ts(completed),
        }),
    }
}

/// `fair/manifests`: FAIR provenance manifests (v1.0 and v1.1).
pub fn manifest(rng: &mut Rng, account: &Account) -> Generated {
    let created = account.time(rng);
    let id = format!("fair_{}", rng.hex(12));
    let modern = rng.chance(60);
    let collaborator = account.peer(rng);
    let mut data = json!({
        "fair": if modern { "1.1" } else { "1.0" },
        "id": id,
        "type": rng.pick(&["image", "audio", "video", "text"]),
        "owner": account.did,
        "created": ts(created),
        "access": rng.pick(&["public", "private", "members"]),
        "attribution": [
            {"did": account.did, "role": "creator", "share": 0.8, "name": rng.pick(text::NAMES)},
            {"did": collaborator, "role": "collaborator", "share": 0.2, "note": "mixage 🎧"},
        ],
        "integrity": {"hash": rng.hex(32), "size": rng.range(10_000, 50_000_000)},
        "signature": rng.hex(64),
    });
    if modern {
        if let Value::Object(map) = &mut data {
            map.insert(
                "distribution".into(),
                json!({"channels": ["imajin", "web"], "regions": ["CA", "EU"]}),
            );
            map.insert(
                "training".into(),
                json!({"allowed": false, "note": "Pas d'entraînement IA"}),
            );
            map.insert(
                "commercial".into(),
                json!({"allowed": true, "min_price": money(rng, 500, 5_000)}),
            );
            map.insert(
                "settlement".into(),
                json!({"method": "stripe", "payout": money(rng, 0, 20_000)}),
            );
        }
    }
    let asset = (!account.assets.is_empty()).then(|| rng.pick(&account.assets).clone());
    if let (Value::Object(map), Some(asset)) = (&mut data, asset) {
        map.insert("asset_id".into(), Value::String(asset));
    }
    Generated {
        id,
        updated: created,
        data,
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_digits() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(1_773_074_700_123), "mmjewajf");
    }
}
