//! The one place where core errors become JavaScript values: a real `Error` whose `name` is
//! `"VaultError"` and whose `code` is the core error's stable code.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::core::Error;

/// A core error on its way to JavaScript. Every fallible export returns `Result<T, VaultError>`.
#[derive(Debug)]
pub struct VaultError(pub Error);

impl From<Error> for VaultError {
    fn from(error: Error) -> Self {
        VaultError(error)
    }
}

impl From<VaultError> for JsValue {
    fn from(VaultError(error): VaultError) -> JsValue {
        let js = js_sys::Error::new(&error.to_string());
        js.set_name("VaultError");
        // Setting a property on a fresh Error object cannot fail; if it ever did, the error still
        // carries its name and message.
        let _ = Reflect::set(&js, &"code".into(), &error.code().into());
        js.into()
    }
}

/// Whether a value is an error thrown by this package.
#[wasm_bindgen(js_name = isVaultError, unchecked_return_type = "value is VaultError")]
pub fn is_vault_error(#[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue) -> bool {
    let Some(error) = value.dyn_ref::<js_sys::Error>() else {
        return false;
    };
    error.name() == "VaultError"
        && Reflect::get(error, &"code".into()).is_ok_and(|code| code.is_string())
}
