//! DID login, compatible with the platform's: a single-use challenge (`chl_<16 hex>`, 64 hex
//! characters, five minutes), signed as UTF-8 text by the DID's Ed25519 key (128 hex characters), and
//! a random bearer token bound to that DID, stored hashed, with an expiry.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use bundle_vault::core::did::{self, DidKey};
use bundle_vault::core::keys;
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::body::JsonBody;
use crate::clock;
use crate::demo;
use crate::error::{ApiError, ApiResult};
use crate::server::SharedState;

/// How long an expired token is remembered (so it keeps answering TOKEN_EXPIRED), in milliseconds.
const EXPIRED_TOKEN_MEMORY_MS: u64 = 24 * 3600 * 1000;
/// How long an expired challenge is kept (so a late answer is told CHALLENGE_EXPIRED), in milliseconds.
const EXPIRED_CHALLENGE_KEPT_MS: u64 = 3600 * 1000;

/// `POST /auth/challenge {did}` → `{challengeId, challenge, expiresAt}`.
pub async fn challenge(
    State(state): State<SharedState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let did_text = string_field(&body, "did")?;
    did::decode(&did_text)?;
    let id = format!("chl_{}", random_hex(8)?);
    let challenge = random_hex(32)?;
    let now = clock::now_millis();
    let expires = now.saturating_add(state.config.challenge_ttl.saturating_mul(1000));
    let answer = json!({
        "challengeId": id,
        "challenge": challenge,
        "expiresAt": clock::timestamp(expires),
    });
    state
        .db
        .call(move |conn| {
            // Kept for an hour past expiry, so that a late answer is told CHALLENGE_EXPIRED (not
            // AUTH_FAILED) whatever other logins came in between.
            conn.execute(
                "DELETE FROM challenges WHERE expires_at < ?1",
                [millis_sql(now.saturating_sub(EXPIRED_CHALLENGE_KEPT_MS))],
            )?;
            conn.execute(
                "INSERT INTO challenges (id, did, challenge, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, did_text, challenge, millis_sql(expires)],
            )?;
            Ok(())
        })
        .await?;
    Ok(Json(answer))
}

/// `POST /auth/verify {challengeId, did, signature}` → `{token, expiresAt}`.
///
/// The challenge is consumed by the attempt, whether it succeeds or not. In demo mode, the first
/// successful login of a DID creates its demo account.
pub async fn verify(
    State(state): State<SharedState>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let challenge_id = string_field(&body, "challengeId")?;
    let did_text = string_field(&body, "did")?;
    let signature_hex = string_field(&body, "signature")?;
    if signature_hex.len() != 128 || !signature_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid(
            "signature must be 128 hex characters (an Ed25519 signature)",
        ));
    }
    let signature =
        hex::decode(&signature_hex).map_err(|_| ApiError::invalid("signature is not hex"))?;
    let now = clock::now_millis();
    let taken = state
        .db
        .call(move |conn| {
            let found: Option<(String, String, i64)> = conn
                .query_row(
                    "SELECT did, challenge, expires_at FROM challenges WHERE id = ?1",
                    [&challenge_id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            conn.execute("DELETE FROM challenges WHERE id = ?1", [&challenge_id])?;
            Ok(found)
        })
        .await?;
    let Some((challenge_did, challenge, expires_at)) = taken else {
        return Err(ApiError::unauthorized(
            "AUTH_FAILED",
            "unknown or already used challenge: ask for a new one",
        ));
    };
    if challenge_did != did_text {
        return Err(ApiError::unauthorized(
            "AUTH_FAILED",
            "the challenge was issued for another DID",
        ));
    }
    if millis_sql(now) > expires_at {
        return Err(ApiError::unauthorized(
            "CHALLENGE_EXPIRED",
            "the challenge has expired: ask for a new one",
        ));
    }
    let public_key = match did::decode(&did_text)? {
        DidKey::Bound(key) => key,
        DidKey::Unbound => {
            return Err(ApiError::unauthorized(
                "AUTH_FAILED",
                format!(
                "{did_text} does not encode a public key (a handle-style or rotated DID), so this \
                     node cannot check its signature: log in with the DID of your key"
            ),
            ))
        }
    };
    keys::verify(&public_key, challenge.as_bytes(), &signature).map_err(|_| {
        ApiError::unauthorized(
            "AUTH_FAILED",
            "the signature does not verify: sign the UTF-8 bytes of the challenge string with the DID's key",
        )
    })?;

    let token = format!("tok_{}", random_hex(32)?);
    let token_hash = hash_token(&token);
    let expires = now.saturating_add(state.config.token_ttl.saturating_mul(1000));
    let demo_items = state.config.demo_items;
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM tokens WHERE expires_at < ?1",
                [millis_sql(now.saturating_sub(EXPIRED_TOKEN_MEMORY_MS))],
            )?;
            tx.execute(
                "INSERT INTO tokens (token_hash, did, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, did_text, millis_sql(expires)],
            )?;
            let created = tx.execute(
                "INSERT OR IGNORE INTO accounts (did, created_at, demo_items) VALUES (?1, ?2, ?3)",
                params![did_text, millis_sql(now), millis_sql(demo_items)],
            )?;
            if created == 1 && demo_items > 0 {
                demo::populate(&tx, &did_text, demo_items)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Json(
        json!({"token": token, "expiresAt": clock::timestamp(expires)}),
    ))
}

/// The DID of the request's bearer token: 401 AUTH_REQUIRED without one, AUTH_FAILED for an unknown
/// one, TOKEN_EXPIRED for an expired one.
pub async fn authenticate(state: &SharedState, headers: &HeaderMap) -> ApiResult<String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "AUTH_REQUIRED",
                "log in first (POST /auth/challenge, /auth/verify) and send Authorization: Bearer <token>",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::unauthorized("AUTH_REQUIRED", "malformed Authorization header"))?;
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "AUTH_REQUIRED",
                "the Authorization header must be Bearer <token>",
            )
        })?;
    let token_hash = hash_token(token);
    let found = state
        .db
        .call(move |conn| {
            Ok(conn
                .prepare_cached("SELECT did, expires_at FROM tokens WHERE token_hash = ?1")?
                .query_row([token_hash], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()?)
        })
        .await?;
    match found {
        None => Err(ApiError::unauthorized(
            "AUTH_FAILED",
            "unknown token: log in again",
        )),
        Some((_, expires_at)) if millis_sql(clock::now_millis()) > expires_at => Err(
            ApiError::unauthorized("TOKEN_EXPIRED", "the token has expired: log in again"),
        ),
        Some((did, _)) => Ok(did),
    }
}

/// Makes every unexpired token of `did` expire now (it then answers 401 TOKEN_EXPIRED); returns how
/// many. For the development endpoints (`POST /dev/expire-tokens`, the `expire-token` fault).
pub async fn expire_tokens(state: &SharedState, did: &str) -> ApiResult<usize> {
    let did = did.to_owned();
    let past = millis_sql(clock::now_millis()).saturating_sub(1);
    state
        .db
        .call(move |conn| {
            Ok(conn.execute(
                "UPDATE tokens SET expires_at = ?2 WHERE did = ?1 AND expires_at > ?2",
                params![did, past],
            )?)
        })
        .await
}

/// 403 DID_MISMATCH unless `requested` is the token's DID.
pub fn require_same_did(token_did: &str, requested: &str) -> ApiResult<()> {
    if token_did == requested {
        Ok(())
    } else {
        Err(ApiError::did_mismatch(format!(
            "this token is for {token_did}, not for {requested}"
        )))
    }
}

/// A required string member of a JSON body (400 INVALID_REQUEST otherwise).
pub fn string_field(body: &Value, key: &str) -> ApiResult<String> {
    if !body.is_object() {
        return Err(ApiError::invalid("the body must be a JSON object"));
    }
    body.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::invalid(format!("{key} must be a string")))
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> ApiResult<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal(format!("randomness unavailable: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Unix milliseconds as an SQLite integer.
pub fn millis_sql(millis: u64) -> i64 {
    i64::try_from(millis).unwrap_or(i64::MAX)
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
