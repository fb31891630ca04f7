//! The model the page scores with: a checkpoint written by `actprm run`, served beside the
//! page as `model/config.json`, `model/model.safetensors` and `model/tokenizer.json`.

use actprm_core::checkpoint::{CONFIG_FILE, CheckpointFiles, TOKENIZER_FILE, WEIGHTS_FILE};

/// Where the checkpoint's files are served, relative to the page.
pub const MODEL_DIR: &str = "model";

/// Fetches the checkpoint's three files; `progress` hears each file's name as it arrives.
pub async fn fetch_checkpoint(mut progress: impl FnMut(&str)) -> Result<CheckpointFiles, String> {
    let config = fetch(CONFIG_FILE).await?;
    progress(CONFIG_FILE);
    let tokenizer = fetch(TOKENIZER_FILE).await?;
    progress(TOKENIZER_FILE);
    let weights = fetch(WEIGHTS_FILE).await?;
    progress(WEIGHTS_FILE);
    Ok(CheckpointFiles {
        config: text(config, CONFIG_FILE)?,
        weights,
        tokenizer: text(tokenizer, TOKENIZER_FILE)?,
    })
}

/// One file's bytes, or a message naming it.
async fn fetch(name: &str) -> Result<Vec<u8>, String> {
    let url = format!("{MODEL_DIR}/{name}");
    let response = gloo::net::http::Request::get(&url)
        .send()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    if !response.ok() {
        return Err(format!(
            "{url}: HTTP {} (build the model with scripts/app-model.sh)",
            response.status()
        ));
    }
    response
        .binary()
        .await
        .map_err(|error| format!("{url}: {error}"))
}

fn text(bytes: Vec<u8>, name: &str) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("{MODEL_DIR}/{name} is not UTF-8 text"))
}
