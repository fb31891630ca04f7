//! Large model files kept in the browser's Cache API, so that a second visit reads the encoder
//! from disk instead of the network. Each file is kept under its URL and a version (its
//! SHA-256), so that new weights are never read from an old copy. Where the Cache API is
//! missing (a page served over plain HTTP from another host), files are simply fetched.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, CacheStorage, Response};

/// The name of the page's store in the Cache API.
pub const MODEL_CACHE: &str = "actprm-models";

/// The Cache API of the page or the worker, when the browser offers it here.
fn storage() -> Option<CacheStorage> {
    let caches = Reflect::get(&js_sys::global(), &JsValue::from_str("caches")).ok()?;
    caches.dyn_into::<CacheStorage>().ok()
}

/// The page's store.
async fn open() -> Option<Cache> {
    let opened = JsFuture::from(storage()?.open(MODEL_CACHE)).await.ok()?;
    opened.dyn_into::<Cache>().ok()
}

/// The key a file is kept under: its URL with the version as a query.
fn key(url: &str, version: &str) -> String {
    format!("{url}?sha256={version}")
}

/// The kept copy of `url` at `version`, if there is one.
pub async fn kept(url: &str, version: &str) -> Option<Response> {
    let found = JsFuture::from(open().await?.match_with_str(&key(url, version)))
        .await
        .ok()?;
    found.dyn_into::<Response>().ok()
}

/// Starts keeping a copy of `response` (whose body is still unread) as `url` at `version`; the
/// copy is written as the body streams in. Await the returned writing once the body is read: a
/// failure (a full disk) only means the file is not kept.
pub fn keep(url: &str, version: &str, response: &Response) -> Option<Writing> {
    let copy = response.clone().ok()?;
    let key = key(url, version);
    Some(Writing(Box::pin(async move {
        if let Some(cache) = open().await {
            let _ = JsFuture::from(cache.put_with_str(&key, &copy)).await;
        }
    })))
}

/// A copy being written to the cache.
pub struct Writing(std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>);

impl Writing {
    /// Waits until the copy is written (or has failed).
    pub async fn finish(self) {
        self.0.await;
    }
}

/// Forgets every kept file; whether there was anything to forget.
pub async fn clear() -> Result<bool, String> {
    let storage = storage().ok_or("this browser offers no Cache API here")?;
    let deleted = JsFuture::from(storage.delete(MODEL_CACHE))
        .await
        .map_err(|error| format!("the cache could not be cleared: {error:?}"))?;
    Ok(deleted.as_bool().unwrap_or(false))
}

/// Whether any file is kept.
pub async fn holds_any() -> bool {
    let Some(storage) = storage() else {
        return false;
    };
    let Ok(exists) = JsFuture::from(storage.has(MODEL_CACHE)).await else {
        return false;
    };
    if exists.as_bool() != Some(true) {
        return false;
    }
    let Some(cache) = open().await else {
        return false;
    };
    let Ok(keys) = JsFuture::from(cache.keys()).await else {
        return false;
    };
    keys.dyn_into::<js_sys::Array>()
        .is_ok_and(|keys| keys.length() > 0)
}
