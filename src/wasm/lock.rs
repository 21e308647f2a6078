//! The vault's writer lock, across tabs: every operation that writes (pull, push, deleteRemote,
//! importBundle, createKey, importKey, recordExport) holds it from start to end, so that two tabs — or two `Vault`
//! objects of one name in a page — never stage commits from the same state.
//!
//! It is a Web Lock (`navigator.locks.request(name, {mode: "exclusive", signal}, callback)`) named after
//! the vault's database, held until the [`WriteLock`] is dropped: the callback's promise resolves then.
//! The browser releases it too when the page holding it goes away (reload, close, crash). Where the
//! Web Locks API is missing, the vault object's own mutex stands in (it serialises that object's
//! writers only; the commit records' `add` still refuses a conflicting commit, see `db::write`).

use futures_util::future::{select, Either};
use futures_util::lock::MutexGuard;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::db;
use super::vault::Inner;
use crate::core::{Error, Result};

/// A held writer lock; dropping it releases it, on every path out of the operation.
pub(crate) struct WriteLock<'a> {
    /// Resolves the promise that keeps the Web Lock.
    release: Option<Function>,
    /// The fallback: the vault object's mutex.
    _local: Option<MutexGuard<'a, ()>>,
}

impl Drop for WriteLock<'_> {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            // Resolving a promise cannot fail.
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// `navigator.locks`, where the platform has the Web Locks API.
fn lock_manager() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    let request = Reflect::get(&locks, &"request".into()).ok()?;
    request.is_function().then_some(locks)
}

/// A future that resolves when `signal` aborts.
fn when_aborted(signal: &AbortSignal) -> JsFuture {
    let promise = Promise::new(&mut |resolve, _| {
        let options = Object::new();
        let _ = Reflect::set(&options, &"once".into(), &JsValue::TRUE);
        if let Ok(add) = Reflect::get(signal, &"addEventListener".into()) {
            if let Some(add) = add.dyn_ref::<Function>() {
                let _ = add.call3(signal, &"abort".into(), &resolve, &options);
            }
        }
    });
    JsFuture::from(promise)
}

fn check_abort(signal: Option<&AbortSignal>) -> Result<()> {
    if signal.is_some_and(AbortSignal::aborted) {
        Err(Error::Aborted)
    } else {
        Ok(())
    }
}

/// Waits for the vault's writer lock. An abort of `signal` while waiting is `ABORTED` (nothing was
/// done); the lock is not taken then.
pub(crate) async fn exclusive<'a>(
    inner: &'a Inner,
    signal: Option<&AbortSignal>,
) -> Result<WriteLock<'a>> {
    check_abort(signal)?;
    let Some(locks) = lock_manager() else {
        let guard = match signal {
            None => inner.op.lock().await,
            Some(signal) => match select(inner.op.lock(), when_aborted(signal)).await {
                Either::Left((guard, _)) => guard,
                Either::Right(_) => return Err(Error::Aborted),
            },
        };
        check_abort(signal)?;
        return Ok(WriteLock {
            release: None,
            _local: Some(guard),
        });
    };

    // The callback resolves `granted` with the function that releases the lock, and keeps the lock
    // until that function is called.
    let mut grant: Option<Function> = None;
    let granted = Promise::new(&mut |resolve, _| grant = Some(resolve));
    let grant = grant.ok_or_else(|| Error::Storage("the lock's promise did not start".into()))?;
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        Promise::new(&mut |release, _| {
            let _ = grant.call1(&JsValue::UNDEFINED, &release);
        })
        .into()
    });
    let options = Object::new();
    let _ = Reflect::set(&options, &"mode".into(), &"exclusive".into());
    if let Some(signal) = signal {
        let _ = Reflect::set(&options, &"signal".into(), signal);
    }
    let refused = |e: JsValue| {
        let why = match e.dyn_ref::<js_sys::Error>() {
            Some(e) => String::from(e.message()),
            None => format!("{e:?}"),
        };
        Error::Storage(format!("the browser refused the vault's lock: {why}"))
    };
    let request: Function = Reflect::get(&locks, &"request".into())
        .map_err(refused)?
        .unchecked_into();
    let name = JsValue::from_str(&db::database_name(&inner.name));
    let requested: Promise = request
        .call3(&locks, &name, &options, &callback)
        .map_err(refused)?
        .unchecked_into();
    match select(JsFuture::from(granted), JsFuture::from(requested)).await {
        Either::Left((Ok(release), _)) => {
            let lock = WriteLock {
                release: release.dyn_into::<Function>().ok(),
                _local: None,
            };
            // Granted just as the signal aborted: released again, nothing done.
            check_abort(signal)?;
            Ok(lock)
        }
        Either::Left((Err(e), _)) => Err(refused(e)),
        // The request settled without granting: the signal aborted the wait (or the browser refused).
        Either::Right((outcome, _)) => {
            check_abort(signal)?;
            Err(refused(outcome.err().unwrap_or(JsValue::UNDEFINED)))
        }
    }
}
