//! The real-text PRM: heads trained on frozen all-MiniLM-L6-v2 over PRM800K, served as a
//! heads-only checkpoint (`realtext/`, committed with its manifest), read with the encoder
//! (`minilm/`, whose `SHA256` the pre-build hook wrote after checking the weights against the
//! heads' record), and slices of ProcessBench's splits to read (`processbench/<split>.json`).
//! Every step is read with its prefix, as natively, so scores equal `actprm score`'s.

use actprm_core::checkpoint::{
    CONFIG_FILE, Checkpoint, CheckpointFiles, TOKENIZER_FILE, WEIGHTS_FILE,
};
use actprm_core::data::{PROCESSBENCH_SPLITS, ProcessBenchItem, read_processbench};
use actprm_core::pretrained::{DEFAULT_SEPARATOR_INIT, PretrainedBackbone};
use burn::tensor::Device;

use crate::assets::{Download, ServedFile, fetch_files, text};

/// Where the heads-only checkpoint is served.
pub const HEADS_DIR: &str = "realtext";
/// Where the encoder's files are served.
pub const ENCODER_DIR: &str = "minilm";
/// Where the ProcessBench slices are served.
pub const SLICE_DIR: &str = "processbench";
/// The file holding the SHA-256 of the encoder's weights, as the pre-build hook checked it.
pub const ENCODER_DIGEST_FILE: &str = "SHA256";

/// One ProcessBench item of the slice, with its split.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceItem {
    pub split: &'static str,
    pub item: ProcessBenchItem,
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
        ServedFile::new(encoder_dir, "model.safetensors").kept_as(digest),
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

/// Fetches the ProcessBench slices of every split.
pub async fn fetch_slice() -> Result<Vec<SliceItem>, String> {
    let names = PROCESSBENCH_SPLITS.map(|split| format!("{split}.json"));
    let files: [ServedFile; 4] = std::array::from_fn(|i| ServedFile::new(SLICE_DIR, &names[i]));
    let bodies = fetch_files(files, |_| {}).await?;
    let mut slice = Vec::new();
    for (split, body) in PROCESSBENCH_SPLITS.into_iter().zip(bodies) {
        let source = format!("{SLICE_DIR}/{split}.json");
        let items =
            read_processbench(&source, &text(body, &source)?).map_err(|error| error.to_string())?;
        slice.extend(items.into_iter().map(|item| SliceItem { split, item }));
    }
    Ok(slice)
}
