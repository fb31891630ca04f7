//! Files served beside the page, read as streams so that the bytes can be counted as they
//! arrive: the models' files (which the worker loads, `worker::loading`) and the ProcessBench
//! slice. A large file can be kept by the browser (`model_cache`).

use gloo::net::http::{Request, Response};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, ReadableStreamReadResult};

use crate::model_cache::{self, Writing};

/// How much of the model has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    /// Bytes received so far.
    pub received: u64,
    /// Bytes expected, when the server states every file's length.
    pub expected: Option<u64>,
}

impl Download {
    /// The progress in words: "2.1 of 6.8 MB", or "2.1 MB" when the total is unknown (or
    /// wrong, as with a compressed transfer).
    pub fn describe(&self) -> String {
        let megabytes = |bytes: u64| bytes as f64 / 1e6;
        match self.expected.filter(|&expected| expected >= self.received) {
            Some(expected) => format!(
                "{:.1} of {:.1} MB",
                megabytes(self.received),
                megabytes(expected)
            ),
            None => format!("{:.1} MB", megabytes(self.received)),
        }
    }
}

/// The URL of the page's directory, which the files it serves are relative to. A worker, started
/// from a blob, has no URL of its own to resolve them against: the page hands it this one.
pub fn page_directory() -> String {
    let href = gloo::utils::window().location().href().unwrap_or_default();
    web_sys::Url::new_with_base(".", &href)
        .map(|url| url.href())
        .unwrap_or_default()
}

/// A file served beside the page.
#[derive(Debug, Clone, Copy)]
pub struct ServedFile<'a> {
    /// Its directory's URL (relative to the page, or absolute).
    pub dir: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The version (its SHA-256) under which the browser keeps it (`model_cache`), for the
    /// large files worth keeping.
    pub kept_as: Option<&'a str>,
}

impl<'a> ServedFile<'a> {
    /// The file `name` in `dir`, fetched each time.
    pub fn new(dir: &'a str, name: &'a str) -> Self {
        Self {
            dir,
            name,
            kept_as: None,
        }
    }
}

/// Fetches files served beside the page, in order (a kept file from the browser's cache);
/// `progress` hears after every chunk how much of them all has arrived.
pub async fn fetch_files<const N: usize>(
    files: [ServedFile<'_>; N],
    mut progress: impl FnMut(Download),
) -> Result<[Vec<u8>; N], String> {
    let mut responses = Vec::with_capacity(N);
    let mut writings = Vec::new();
    for file in files {
        let (response, writing) = request(file).await?;
        responses.push(response);
        writings.extend(writing);
    }
    let expected = responses.iter().map(content_length).sum::<Option<u64>>();
    let mut download = Download {
        received: 0,
        expected,
    };
    progress(download);
    let mut bodies = Vec::with_capacity(N);
    for (file, response) in files.into_iter().zip(&responses) {
        let body = read_body(file, response, |chunk| {
            download.received += chunk;
            progress(download);
        });
        bodies.push(body.await?);
    }
    for writing in writings {
        writing.finish().await;
    }
    Ok(<[Vec<u8>; N]>::try_from(bodies).expect("one body per file"))
}

/// The response for one file (its body not yet read), from the browser's cache when it keeps
/// the file, else with the copy the cache is writing as the body streams in; or a message
/// naming the file.
async fn request(file: ServedFile<'_>) -> Result<(Response, Option<Writing>), String> {
    let url = format!("{}/{}", file.dir, file.name);
    if let Some(version) = file.kept_as
        && let Some(kept) = model_cache::kept(&url, version).await
    {
        return Ok((kept.into(), None));
    }
    let response = Request::get(&url)
        .send()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    if !response.ok() {
        return Err(format!(
            "{url}: HTTP {} (trunk's pre-build hook, scripts/app-assets.sh, makes it)",
            response.status()
        ));
    }
    if let Some(version) = file.kept_as {
        let response = web_sys::Response::from(response);
        let writing = model_cache::keep(&url, version, &response);
        return Ok((response.into(), writing));
    }
    Ok((response, None))
}

/// The length the server states for a response's body.
fn content_length(response: &Response) -> Option<u64> {
    response.headers().get("content-length")?.parse().ok()
}

/// Reads a response's body chunk by chunk, telling `on_chunk` each chunk's length.
async fn read_body(
    file: ServedFile<'_>,
    response: &Response,
    mut on_chunk: impl FnMut(u64),
) -> Result<Vec<u8>, String> {
    let failed = |error: wasm_bindgen::JsValue| format!("{}/{}: {error:?}", file.dir, file.name);
    let Some(stream) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut bytes = Vec::new();
    loop {
        let result: ReadableStreamReadResult = JsFuture::from(reader.read())
            .await
            .map_err(failed)?
            .unchecked_into();
        if result.get_done().unwrap_or(true) {
            return Ok(bytes);
        }
        let chunk = js_sys::Uint8Array::new(&result.get_value());
        let start = bytes.len();
        bytes.resize(start + chunk.length() as usize, 0);
        chunk.copy_to(&mut bytes[start..]);
        on_chunk(u64::from(chunk.length()));
    }
}

/// A fetched file as text, or a message naming it.
pub fn text(bytes: Vec<u8>, name: &str) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_in_megabytes_and_drops_a_total_it_has_passed() {
        let download = |received, expected| Download { received, expected };
        assert_eq!(
            download(2_100_000, Some(6_800_000)).describe(),
            "2.1 of 6.8 MB"
        );
        assert_eq!(download(2_100_000, None).describe(), "2.1 MB");
        assert_eq!(download(7_000_000, Some(6_800_000)).describe(), "7.0 MB");
    }
}
