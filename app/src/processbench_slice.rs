//! The slice of ProcessBench the real-text view pages through: about thirty items of each
//! split with their labels, served as `processbench/<split>.json`.

use actprm_core::data::{PROCESSBENCH_SPLITS, ProcessBenchItem, read_processbench};

use crate::assets::{ServedFile, fetch_files, text};

/// Where the ProcessBench slices are served.
pub const SLICE_DIR: &str = "processbench";

/// One ProcessBench item of the slice, with its split.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceItem {
    pub split: &'static str,
    pub item: ProcessBenchItem,
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
