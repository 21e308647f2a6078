//! The HTTP server: shared state, the router with CORS and body limits, start and graceful stop.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{middleware, Json, Router};
use bundle_vault::core::keys::Keypair;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::body::{DRAIN_LIMIT, MAX_JSON_BODY};
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::storage::Db;
use crate::{auth, canned, catalog, delete, dev, export, fault, node_key, transfer};

/// The path of the service manifest.
pub const MANIFEST_PATH: &str = "/.well-known/bundle-node";

/// What every handler shares.
pub struct AppState {
    /// The configuration the node started with.
    pub config: Config,
    /// The database.
    pub db: Db,
    /// The node's signing key.
    pub key: Keypair,
    /// The node key's `did:key`.
    pub node_did: String,
    /// A short tag of the node key, carried in cursors so that a cursor of another node is refused.
    pub cursor_tag: String,
    /// Faults armed through `/dev/fault` (consulted only with `--dev-endpoints`).
    pub faults: fault::Faults,
    /// Answers stored through `/dev/canned` (served only with `--dev-endpoints`).
    pub canned: canned::Canned,
}

/// Shared state as handlers receive it.
pub type SharedState = Arc<AppState>;

/// A running node.
pub struct NodeHandle {
    /// The address it listens on (the real port when started on port 0).
    pub addr: SocketAddr,
    /// Its manifest URL, `http://ADDR/.well-known/bundle-node`.
    pub manifest_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl NodeHandle {
    /// Stops accepting connections, lets requests in flight finish, and waits for the server to end.
    pub async fn shutdown(mut self) -> Result<(), String> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Opens the data directory (creating the key and database on first start), binds the listener and
/// starts serving. Returns once the node accepts connections.
pub async fn start(config: Config) -> Result<NodeHandle, String> {
    std::fs::create_dir_all(&config.data)
        .map_err(|e| format!("cannot create {}: {e}", config.data.display()))?;
    let key = node_key::load_or_create(&config.data)?;
    let db = Db::open(&config.data)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let node_did = key.did_key();
    let cursor_tag = hex::encode(&Sha256::digest(node_did.as_bytes())[..4]);
    let state = Arc::new(AppState {
        config,
        db,
        key,
        node_did,
        cursor_tag,
        faults: fault::Faults::default(),
        canned: canned::Canned::default(),
    });
    let app = router(state);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(NodeHandle {
        addr,
        manifest_url: format!("http://{addr}{MANIFEST_PATH}"),
        shutdown: Some(tx),
        task,
    })
}

/// The node's routes with CORS, body limits and JSON errors.
pub fn router(state: SharedState) -> Router {
    // The outer cap is the largest chunk size any session may have (a session keeps the chunk size
    // it was opened with across restarts); each handler enforces its own, tighter limit.
    let body_limit = usize::try_from(crate::config::MAX_CHUNK_SIZE)
        .unwrap_or(usize::MAX)
        .max(MAX_JSON_BODY)
        .saturating_add(usize::try_from(DRAIN_LIMIT).unwrap_or(usize::MAX));
    let mut app = Router::new()
        .route(MANIFEST_PATH, get(manifest))
        .route("/auth/challenge", post(auth::challenge))
        .route("/auth/verify", post(auth::verify))
        .route("/services/{name}/export", get(export::export))
        .route("/services/{name}/count", get(export::count))
        .route("/services/{name}/delete", post(delete::delete))
        .route("/transfer/sessions", post(transfer::create))
        .route("/transfer/sessions/{id}", get(transfer::status))
        .route(
            "/transfer/sessions/{id}/chunks/{index}",
            put(transfer::put_chunk),
        )
        .route("/transfer/sessions/{id}/commit", post(transfer::commit));
    let mut methods = vec![Method::GET, Method::POST, Method::PUT, Method::OPTIONS];
    if state.config.dev_endpoints {
        app = app
            .route("/dev/mutate", post(dev::mutate))
            .route(
                "/dev/fault",
                get(dev::list_faults)
                    .post(dev::arm_fault)
                    .delete(dev::clear_faults),
            )
            .route("/dev/expire-tokens", post(dev::expire_tokens))
            .route("/dev/canned", post(canned::store))
            .route(
                "/dev/canned/{name}",
                get(canned::answer).post(canned::answer),
            );
        methods.push(Method::DELETE);
    }
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(methods)
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600));
    app.fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn(close_after_refused_body))
        .layer(cors)
}

async fn manifest(State(state): State<SharedState>) -> ApiResult<Json<Value>> {
    let services = state.db.call(|conn| catalog::list(conn)).await?;
    let services: Vec<Value> = services
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "section": s.name,
                "export": format!("/services/{}/export", s.name),
                "count": format!("/services/{}/count", s.name),
                "delete": format!("/services/{}/delete", s.name),
            })
        })
        .collect();
    Ok(Json(json!({
        "node": state.config.name,
        "did": state.node_did,
        "auth": {"challenge": "/auth/challenge", "verify": "/auth/verify"},
        "transfer": "/transfer",
        "services": services,
    })))
}

async fn not_found() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND)
}

/// An error answered to a request with a body may leave that body unread, and then the connection
/// cannot carry another request: say so (`Connection: close`), so that keep-alive clients do not
/// send their next request into a closing connection.
async fn close_after_refused_body(request: Request, next: Next) -> Response {
    let has_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    let mut response = next.run(request).await;
    let status = response.status();
    if has_body && (status.is_client_error() || status.is_server_error()) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Turns error responses made outside the handlers (unknown method, body limit, extractor
/// rejections) into the protocol's `{code, message}` JSON.
async fn json_errors(response: Response) -> Response {
    if response.extensions().get::<fault::Injected>().is_some() {
        return response;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let allow: Option<HeaderValue> = response.headers().get(header::ALLOW).cloned();
    let mut replaced = ApiError::from_status(status).into_response();
    if let Some(allow) = allow {
        replaced.headers_mut().insert(header::ALLOW, allow);
    }
    replaced
}
