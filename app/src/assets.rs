//! The model the page scores with: a checkpoint written by `actprm run`, served beside the
//! page as `model/config.json`, `model/model.safetensors` and `model/tokenizer.json`, read as
//! streams so that the page can count the bytes as they arrive.

use actprm_core::checkpoint::{CONFIG_FILE, CheckpointFiles, TOKENIZER_FILE, WEIGHTS_FILE};
use gloo::net::http::{Request, Response};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, ReadableStreamReadResult};

/// Where the checkpoint's files are served, relative to the page.
pub const MODEL_DIR: &str = "model";

/// How much of the model has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Fetches the checkpoint's three files; `progress` hears after every chunk how much of them
/// has arrived.
pub async fn fetch_checkpoint(
    mut progress: impl FnMut(Download),
) -> Result<CheckpointFiles, String> {
    let names = [CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE];
    let mut responses = Vec::with_capacity(names.len());
    for name in names {
        responses.push(request(name).await?);
    }
    let expected = responses.iter().map(content_length).sum::<Option<u64>>();
    let mut download = Download {
        received: 0,
        expected,
    };
    progress(download);
    let mut bodies = Vec::with_capacity(names.len());
    for (name, response) in names.into_iter().zip(&responses) {
        let body = read_body(name, response, |chunk| {
            download.received += chunk;
            progress(download);
        });
        bodies.push(body.await?);
    }
    let [config, tokenizer, weights] = <[Vec<u8>; 3]>::try_from(bodies).expect("three files");
    Ok(CheckpointFiles {
        config: text(config, CONFIG_FILE)?,
        weights,
        tokenizer: text(tokenizer, TOKENIZER_FILE)?,
    })
}

/// The response for one file (its body not yet read), or a message naming it.
async fn request(name: &str) -> Result<Response, String> {
    let url = format!("{MODEL_DIR}/{name}");
    let response = Request::get(&url)
        .send()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    if !response.ok() {
        return Err(format!(
            "{url}: HTTP {} (build the model with scripts/app-model.sh)",
            response.status()
        ));
    }
    Ok(response)
}

/// The length the server states for a response's body.
fn content_length(response: &Response) -> Option<u64> {
    response.headers().get("content-length")?.parse().ok()
}

/// Reads a response's body chunk by chunk, telling `on_chunk` each chunk's length.
async fn read_body(
    name: &str,
    response: &Response,
    mut on_chunk: impl FnMut(u64),
) -> Result<Vec<u8>, String> {
    let failed = |error: wasm_bindgen::JsValue| format!("{MODEL_DIR}/{name}: {error:?}");
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

fn text(bytes: Vec<u8>, name: &str) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("{MODEL_DIR}/{name} is not UTF-8 text"))
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
