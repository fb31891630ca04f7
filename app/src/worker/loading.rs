//! Loading the models in the worker: the synthetic model (a checkpoint written by
//! `actprm run`, served as `model/config.json`, `model/model.safetensors` and
//! `model/tokenizer.json`), and the real-text model: heads trained on frozen all-MiniLM-L6-v2
//! over PRM800K, served as a heads-only checkpoint (`realtext/`, committed with its manifest),
//! read with the encoder (`minilm/`, its weights halved to f16, whose `SHA256` the pre-build
//! hook wrote after checking the weights against the heads' record). The browser keeps the
//! encoder's weights (`model_cache`).

use actprm_core::checkpoint::{
    CONFIG_FILE, Checkpoint, CheckpointFiles, TOKENIZER_FILE, WEIGHTS_FILE,
};
use actprm_core::pretrained::{DEFAULT_SEPARATOR_INIT, PretrainedBackbone};
use burn::tensor::Device;

use crate::assets::{Download, ServedFile, fetch_files, text};

/// Where the checkpoint's files are served, relative to the page.
pub const MODEL_DIR: &str = "model";

/// Where the heads-only checkpoint is served.
pub const HEADS_DIR: &str = "realtext";
/// Where the encoder's files are served.
pub const ENCODER_DIR: &str = "minilm";
/// The file holding the SHA-256 of the encoder's weights, as the pre-build hook checked it.
pub const ENCODER_DIGEST_FILE: &str = "SHA256";

/// Fetches the checkpoint's three files from [`MODEL_DIR`] under `base` (a URL ending in `/`);
/// `progress` hears after every chunk how much of them has arrived.
pub async fn fetch_checkpoint(
    base: &str,
    progress: impl FnMut(Download),
) -> Result<CheckpointFiles, String> {
    let dir = format!("{base}{MODEL_DIR}");
    let files = [CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE].map(|name| ServedFile::new(&dir, name));
    let [config, tokenizer, weights] = fetch_files(files, progress).await?;
    Ok(CheckpointFiles {
        config: text(config, CONFIG_FILE)?,
        weights,
        tokenizer: text(tokenizer, TOKENIZER_FILE)?,
    })
}

/// Fetches the heads and the encoder from under `base` (a URL ending in `/`, or empty for the
/// page's own directory) and loads the real-text model onto `device`; `progress` hears how many
/// bytes have arrived.
pub async fn load_real_text_model(
    base: &str,
    device: &Device,
    progress: impl FnMut(Download),
) -> Result<Checkpoint, String> {
    let heads_dir = format!("{base}{HEADS_DIR}");
    let encoder_dir = format!("{base}{ENCODER_DIR}");
    let (heads_dir, encoder_dir) = (heads_dir.as_str(), encoder_dir.as_str());
    // The encoder's digest first: the browser keeps its weights under it.
    let [digest] = fetch_files([ServedFile::new(encoder_dir, ENCODER_DIGEST_FILE)], |_| {}).await?;
    let digest = text(digest, ENCODER_DIGEST_FILE)?;
    let digest = digest.trim();
    let files = [
        ServedFile::new(heads_dir, CONFIG_FILE),
        ServedFile::new(heads_dir, TOKENIZER_FILE),
        ServedFile::new(heads_dir, WEIGHTS_FILE),
        ServedFile::new(encoder_dir, "config.json"),
        ServedFile::new(encoder_dir, "tokenizer.json"),
        ServedFile {
            kept_as: Some(digest),
            ..ServedFile::new(encoder_dir, "model.safetensors")
        },
    ];
    let [
        config,
        tokenizer,
        heads,
        encoder_config,
        encoder_tokenizer,
        encoder,
    ] = fetch_files(files, progress).await?;
    let heads = CheckpointFiles {
        config: text(config, CONFIG_FILE)?,
        weights: heads,
        tokenizer: text(tokenizer, TOKENIZER_FILE)?,
    };
    let config = heads
        .read_config()
        .map_err(|error| format!("{HEADS_DIR}/{error}"))?;
    let encoder = PretrainedBackbone::bert_from_bytes(
        text(encoder_config, "config.json")?,
        text(encoder_tokenizer, "tokenizer.json")?,
        encoder,
        &config.special_tokens,
        DEFAULT_SEPARATOR_INIT,
        device,
    )
    .map_err(|error| format!("{ENCODER_DIR}: {error}"))?;
    heads
        .load_with_backbone(encoder.backbone, digest, device)
        .map_err(|error| format!("{HEADS_DIR}: {error}"))
}
