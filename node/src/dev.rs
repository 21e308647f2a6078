//! The development endpoints, only with `--dev-endpoints`, for tests and benchmarks. They need no
//! token by design: never enable them on a node that holds real data.
//!
//! - `POST /dev/mutate {did, fraction}` changes that fraction of the DID's live items (new
//!   `updated_at`, new sequence number, changed data: a `revision` member counts the changes) and
//!   answers `{did, updated}`.
//! - `POST /dev/fault {did, service, fault, count?, delayMs?, share?}` arms a [`Fault`] for the DID's
//!   next `count` export requests of `service` (default: until cleared), or for that `share` of them
//!   at random, and answers what was armed;
//!   `fault: "none"` clears that DID's fault on that service. `GET /dev/fault?did=` lists the armed
//!   faults with how many requests each has `served`; `DELETE /dev/fault?did=` clears them (all of
//!   them without `did`). Receipt faults (`receipt-*`) are armed for `service: "transfer"` and act on
//!   the DID's transfer commits instead (see [`crate::fault::forge_receipt`]), `slow-chunk` and
//!   `failing-chunk` too and act on its chunk uploads; `slow-delete` acts on the service's delete requests.
//! - `POST /dev/expire-tokens {did}` makes the DID's current tokens expired (they answer 401
//!   TOKEN_EXPIRED on their next use) and answers `{did, expired}`.

use axum::extract::State;
use axum::Json;
use bundle_vault::core::{canonical, did as dids};
use serde_json::{json, Value};

use crate::auth::string_field;
use crate::body::JsonBody;
use crate::catalog;
use crate::clock;
use crate::demo::rng::Rng;
use crate::error::{ApiError, ApiResult};
use crate::export::{Params, QueryParams};
use crate::fault::{Fault, MAX_DELAY_MS, TRANSFER_SERVICE};
use crate::server::SharedState;
use crate::storage::items::{self, next_version_time, SeqAlloc, StoredItem};

/// `POST /dev/mutate`.
pub async fn mutate(
    State(state): State<SharedState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let did = string_field(&body, "did")?;
    let fraction = body
        .get("fraction")
        .and_then(Value::as_f64)
        .filter(|f| (0.0..=1.0).contains(f))
        .ok_or_else(|| ApiError::invalid("fraction must be a number from 0 to 1"))?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| ApiError::internal(e.to_string()))?;
    let now = clock::now_millis();
    let answer_did = did.clone();
    let updated = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            let mut live: Vec<(String, StoredItem)> = Vec::new();
            for service in catalog::list(&tx)? {
                live.extend(
                    items::all_for_did(&tx, &service.name, &did)?
                        .into_iter()
                        .filter(|i| !i.deleted)
                        .map(|i| (service.name.clone(), i)),
                );
            }
            let target = ((live.len() as f64) * fraction).round() as usize;
            // Partial Fisher–Yates: the first `target` items become a random sample.
            let mut rng = Rng::from_seed(seed);
            for i in 0..target.min(live.len()) {
                let j = i + rng.below((live.len() - i) as u64) as usize;
                live.swap(i, j);
            }
            let mut seq = SeqAlloc::begin(&tx)?;
            for (service, item) in live.into_iter().take(target) {
                let data = bump_revision(item.data.as_deref())?;
                let changed = StoredItem {
                    updated_at: next_version_time(&item.updated_at, now),
                    seq: seq.allocate(),
                    data: Some(data),
                    ..item
                };
                items::put(&tx, &service, &did, &changed)?;
            }
            let used = seq.used();
            seq.finish(&tx)?;
            tx.commit()?;
            Ok(used)
        })
        .await?;
    Ok(Json(json!({"did": answer_did, "updated": updated})))
}

/// The data with its `revision` member incremented (a non-object is wrapped as `{value, revision}`).
fn bump_revision(data: Option<&str>) -> ApiResult<String> {
    let value: Value = match data {
        Some(text) => serde_json::from_str(text).map_err(|e| ApiError::internal(e.to_string()))?,
        None => Value::Null,
    };
    let changed = match value {
        Value::Object(mut map) => {
            let revision = map.get("revision").and_then(Value::as_u64).unwrap_or(0) + 1;
            map.insert("revision".into(), json!(revision));
            Value::Object(map)
        }
        other => json!({"value": other, "revision": 1}),
    };
    Ok(canonical::to_canonical_string(&changed)?)
}

/// `POST /dev/fault {did, service, fault, count?, delayMs?, share?}`.
pub async fn arm_fault(
    State(state): State<SharedState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let did = string_field(&body, "did")?;
    dids::decode(&did)?;
    let name = string_field(&body, "service")?;
    let fault_name = string_field(&body, "fault")?;
    // Faults of transfers (receipt faults, `slow-chunk`, `failing-chunk`; and clearing them) name the
    // pseudo-service `transfer`; every other fault names a service of the catalog.
    let transfer_fault = Fault::parse(&fault_name, None).is_ok_and(Fault::is_transfer);
    let service_name = if name == TRANSFER_SERVICE && (transfer_fault || fault_name == "none") {
        name
    } else if transfer_fault {
        return Err(ApiError::invalid(format!(
            "{fault_name} acts on transfers: arm it for service {TRANSFER_SERVICE:?}"
        )));
    } else {
        state
            .db
            .call(move |conn| catalog::get(conn, &name))
            .await?
            .name
    };
    let count = match body.get("count") {
        None | Some(Value::Null) => None,
        Some(n) => Some(
            n.as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| ApiError::invalid("count must be a positive integer"))?,
        ),
    };
    let delay_ms = match body.get("delayMs") {
        None | Some(Value::Null) => None,
        Some(n) => Some(
            n.as_u64()
                .filter(|n| (1..=MAX_DELAY_MS).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "delayMs must be an integer from 1 to {MAX_DELAY_MS}"
                    ))
                })?,
        ),
    };
    let share = match body.get("share") {
        None | Some(Value::Null) => None,
        Some(n) => Some(
            n.as_f64()
                .filter(|n| *n > 0.0 && *n <= 1.0)
                .ok_or_else(|| ApiError::invalid("share must be a number above 0, at most 1"))?,
        ),
    };
    if fault_name == "none" {
        let cleared = state.faults.clear(Some(&did), Some(&service_name));
        return Ok(Json(
            json!({"did": did, "service": service_name, "fault": "none", "cleared": cleared}),
        ));
    }
    let fault = Fault::parse(&fault_name, delay_ms).map_err(ApiError::invalid)?;
    state.faults.arm(&did, &service_name, fault, count, share)?;
    let mut answer =
        json!({"did": did, "service": service_name, "fault": fault.name(), "count": count});
    if let Some(share) = share {
        answer["share"] = json!(share);
    }
    if let Some(delay_ms) = fault.delay_ms() {
        answer["delayMs"] = json!(delay_ms);
    }
    Ok(Json(answer))
}

/// `GET /dev/fault?did=` → `{faults: [{did, service, fault, remaining, served, delayMs?}]}`.
pub async fn list_faults(
    State(state): State<SharedState>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let params = QueryParams::read(params, &["did"])?;
    Ok(Json(
        json!({"faults": state.faults.list(params.get("did"))}),
    ))
}

/// `DELETE /dev/fault?did=` → `{cleared}`.
pub async fn clear_faults(
    State(state): State<SharedState>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let params = QueryParams::read(params, &["did"])?;
    Ok(Json(
        json!({"cleared": state.faults.clear(params.get("did"), None)}),
    ))
}

/// `POST /dev/expire-tokens {did}` → `{did, expired}`.
pub async fn expire_tokens(
    State(state): State<SharedState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let did = string_field(&body, "did")?;
    dids::decode(&did)?;
    let expired = crate::auth::expire_tokens(&state, &did).await?;
    Ok(Json(json!({"did": did, "expired": expired})))
}
