//! Reading trajectory files in any of the supported formats, with the format guessed from the
//! first record when not given. JSONL formats are read line by line, so a file of any size can
//! be streamed; a ProcessBench JSON array is read whole.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use actprm_core::Trajectory;
use actprm_core::data::{
    DataError, Prm800kRows, PrmBenchItem, StepwiseRows, TrainingRows, UnlabelledRows,
    read_prmbench, read_processbench_bytes, without_byte_order_mark,
};
use anyhow::{Context, Result, bail};
use flate2::read::GzDecoder;

use crate::cli::DataFormat;

/// The trajectories of one file, read as they are asked for.
pub struct TrajectoryFile {
    rows: Box<dyn Iterator<Item = Result<Trajectory, DataError>>>,
    bytes_read: Rc<Cell<u64>>,
    len: u64,
    /// The file, when it is gzip-compressed: a record that does not read is then checked
    /// against the stream's own integrity.
    gzip: Option<PathBuf>,
}

impl TrajectoryFile {
    /// Opens `path`, gunzipping it when it ends in `.gz`, and resolves `format` (reading the
    /// first record for [`DataFormat::Auto`]).
    pub fn open(path: &Path, format: DataFormat) -> Result<Self> {
        let source = path.display().to_string();
        let format = resolve_format(path, format)?;
        let file = File::open(path).with_context(|| format!("opening {source}"))?;
        let len = file.metadata().map_or(0, |metadata| metadata.len());
        let bytes_read = Rc::new(Cell::new(0));
        let counted = CountingReader {
            inner: file,
            count: Rc::clone(&bytes_read),
        };
        let reader = BufReader::new(decompressed(path, counted));
        let rows: Box<dyn Iterator<Item = Result<Trajectory, DataError>>> = match format {
            DataFormat::Processbench => {
                let mut bytes = Vec::new();
                let mut reader = reader;
                reader
                    .read_to_end(&mut bytes)
                    .with_context(|| format!("reading {source}"))?;
                let items = read_processbench_bytes(&source, &bytes)?;
                Box::new(items.into_iter().map(|item| Ok(item.trajectory)))
            }
            DataFormat::Jsonl => Box::new(TrainingRows::new(&source, reader)),
            DataFormat::Prm800k => Box::new(Prm800kRows::new(&source, reader)),
            DataFormat::Unlabelled => Box::new(UnlabelledRows::new(&source, reader)),
            DataFormat::Stepwise => Box::new(StepwiseRows::new(&source, reader)),
            DataFormat::Auto => unreachable!("resolved above"),
        };
        Ok(Self {
            rows,
            bytes_read,
            len,
            gzip: is_gzip(path).then(|| path.to_path_buf()),
        })
    }

    /// Bytes of the file (compressed, for a `.gz`) read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.get()
    }

    /// Size of the file in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
}

impl Iterator for TrajectoryFile {
    type Item = Result<Trajectory>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.rows.next()?;
        Some(row.map_err(|error| match &self.gzip {
            Some(path) => explained_by_corruption(path, error.into()),
            None => error.into(),
        }))
    }
}

/// `error`, or the corruption of the gzip file `path` when it has one: a damaged stream
/// decompresses into garbage that reads as a bad record long before the checksum at the end
/// of the stream is checked.
fn explained_by_corruption(path: &Path, error: anyhow::Error) -> anyhow::Error {
    let check = open_reader(path).and_then(|mut reader| {
        std::io::copy(&mut reader, &mut std::io::sink())
            .with_context(|| format!("{} is a damaged gzip file", path.display()))
    });
    match check {
        Ok(_) => error,
        Err(corruption) => corruption,
    }
}

/// Whether `path` is a regular file, or a link to one; a missing file counts as one, so that
/// opening it reports it missing.
fn is_regular_file(path: &Path) -> bool {
    std::fs::metadata(path).map_or(true, |metadata| metadata.is_file())
}

/// Whether `path` names a gzip-compressed file.
fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// `format`, or for [`DataFormat::Auto`] the format of `path`'s first record.
pub fn resolve_format(path: &Path, format: DataFormat) -> Result<DataFormat> {
    match format {
        DataFormat::Auto if !is_regular_file(path) => bail!(
            "{}: not a regular file (a pipe?), which can be read only once, and finding its \
             format reads it first: pass --format",
            path.display()
        ),
        DataFormat::Auto => detect(&first_record(path)?)
            .with_context(|| format!("{}: cannot tell its format; pass --format", path.display()))
            .map_err(|error| match is_gzip(path) {
                true => explained_by_corruption(path, error),
                false => error,
            }),
        given => Ok(given),
    }
}

/// Reads every trajectory of `path`, stopping at the first invalid record.
pub fn read_trajectories(path: &Path, format: DataFormat) -> Result<Vec<Trajectory>> {
    TrajectoryFile::open(path, format)?.collect()
}

/// The trajectories of ProcessBench's `split` (`gsm8k`, `math`, ...), read from
/// `{dir}/{split}.json`.
pub fn read_processbench_split(dir: &Path, split: &str) -> Result<Vec<Trajectory>> {
    let path = dir.join(format!("{split}.json"));
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (scripts/fetch-data.sh fetches ProcessBench)",
            path.display()
        )
    })?;
    Ok(
        read_processbench_bytes(&path.display().to_string(), &bytes)?
            .into_iter()
            .map(|item| item.trajectory)
            .collect(),
    )
}

/// The items of a PRMBench JSONL file, or of every `.jsonl` file of a directory (in name
/// order), as the benchmark ships them.
pub fn read_prmbench_data(path: &Path) -> Result<Vec<PrmBenchItem>> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading the directory {}", path.display()))?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<Result<_, _>>()?;
        files.retain(|file| file.extension().is_some_and(|e| e == "jsonl"));
        files.sort();
        if files.is_empty() {
            bail!("{} holds no .jsonl file", path.display());
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut items = Vec::new();
    for file in files {
        let read = read_prmbench(&file.display().to_string(), open_reader(&file)?)?;
        if let Some(first) = read.repeated.first() {
            eprintln!(
                "warning: {}: {} rows repeat the classification and idx of an earlier row \
                 (first {first}); each id is scored once, from its first row, as PRMBench's \
                 own loader does",
                file.display(),
                read.repeated.len()
            );
        }
        items.extend(read.items);
    }
    Ok(items)
}

/// `path` opened for reading lines, gunzipped when it ends in `.gz`.
pub fn open_reader(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::new(decompressed(path, file))))
}

/// `reader` gunzipped when `path` ends in `.gz`.
fn decompressed<'a>(path: &Path, reader: impl Read + 'a) -> Box<dyn Read + 'a> {
    if is_gzip(path) {
        Box::new(GzDecoder::new(reader))
    } else {
        Box::new(reader)
    }
}

/// The start of the file's first record: its first non-blank line, or the start of a JSON
/// array.
fn first_record(path: &Path) -> Result<String> {
    for line in open_reader(path)?.lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if !line.trim().is_empty() {
            return Ok(line);
        }
    }
    Ok(String::new())
}

/// The format of a file from its first record.
fn detect(first: &str) -> Result<DataFormat> {
    let trimmed = without_byte_order_mark(first).trim_start();
    if trimmed.is_empty() {
        bail!("the file is empty");
    }
    if trimmed.starts_with('[') {
        return Ok(DataFormat::Processbench);
    }
    let record: serde_json::Value =
        serde_json::from_str(trimmed).context("its first line is not JSON")?;
    let has = |field| record.get(field).is_some();
    if has("hard_labels") {
        Ok(DataFormat::Jsonl)
    } else if has("next_response") {
        Ok(DataFormat::Prm800k)
    } else if has("question") && has("steps") {
        Ok(DataFormat::Unlabelled)
    } else if has("prompt") && has("completions") {
        Ok(DataFormat::Stepwise)
    } else {
        bail!(
            "its first record has neither `hard_labels` (training rows), `next_response` \
             (PRM800K), `question` and `steps` (unlabelled rows) nor `prompt` and `completions` \
             (stepwise-supervision rows)"
        )
    }
}

/// Counts the bytes read through it, for progress on a stream.
struct CountingReader<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.set(self.count.get() + read as u64);
        Ok(read)
    }
}

/// At most `limit` of `items`, spread evenly over them in their order, so that a file sorted by
/// label or by class keeps its proportions.
pub fn evenly_spaced<T>(items: Vec<T>, limit: usize) -> Vec<T> {
    let total = items.len();
    if limit >= total {
        return items;
    }
    // Item k of the subset is the first at or after k·total/limit.
    let mut next = 0;
    items
        .into_iter()
        .enumerate()
        .filter(|&(index, _)| {
            let wanted = next < limit && index == next * total / limit;
            next += usize::from(wanted);
            wanted
        })
        .map(|(_, item)| item)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn detects_each_format_from_its_first_record() {
        assert_eq!(detect("  [{\"id\": 1}]").unwrap(), DataFormat::Processbench);
        assert_eq!(detect("[").unwrap(), DataFormat::Processbench);
        assert_eq!(detect("\u{feff}[").unwrap(), DataFormat::Processbench);
        assert_eq!(
            detect("{\"question\":\"q\",\"steps\":[],\"hard_labels\":[]}").unwrap(),
            DataFormat::Jsonl
        );
        assert_eq!(
            detect("{\"instruction\":\"q\",\"next_response\":\"s\"}").unwrap(),
            DataFormat::Prm800k
        );
        assert_eq!(
            detect("{\"question\":\"q\",\"steps\":[\"a\"]}").unwrap(),
            DataFormat::Unlabelled
        );
        assert_eq!(
            detect("{\"prompt\":\"q\",\"completions\":[\"a\"],\"labels\":[true]}").unwrap(),
            DataFormat::Stepwise
        );
        let message = detect("{\"prompt\":\"q\"}").unwrap_err().to_string();
        assert!(message.contains("`prompt` and `completions`"), "{message}");
        assert!(
            detect("{\"other\": 1}")
                .unwrap_err()
                .to_string()
                .contains("hard_labels")
        );
        assert!(detect("").is_err());
    }

    /// A gzipped file streams row by row, its format found from the first record after blank
    /// lines, and the bytes read grow to the file's size.
    #[test]
    fn streams_a_gzipped_file_and_counts_its_bytes() {
        let dir = std::env::temp_dir().join(format!("actprm-data-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pool.jsonl.gz");
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::default(),
        );
        writeln!(gz).unwrap();
        for question in ["a", "b", "c"] {
            writeln!(gz, "{{\"question\": \"{question}\", \"steps\": [\"s\"]}}").unwrap();
        }
        gz.finish().unwrap();

        let mut file = TrajectoryFile::open(&path, DataFormat::Auto).unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(file.len(), len);
        let questions: Vec<String> = file.by_ref().map(|row| row.unwrap().question).collect();
        assert_eq!(questions, ["a", "b", "c"]);
        assert_eq!(file.bytes_read(), len);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A pipe is not read twice to find its format, which would hang or lose its start.
    #[test]
    fn a_pipe_needs_its_format_named() {
        let dir = std::env::temp_dir().join(format!("actprm-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("rows");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let error = resolve_format(&fifo, DataFormat::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not a regular file") && error.contains("--format"),
            "{error}"
        );
        assert_eq!(
            resolve_format(&fifo, DataFormat::Jsonl).unwrap(),
            DataFormat::Jsonl
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A damaged gzip file is reported as damaged, not as the bad record its garbage makes.
    #[test]
    fn a_damaged_gzip_file_is_named_as_such() {
        let dir = std::env::temp_dir().join(format!("actprm-damaged-gz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.jsonl.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
        for question in 0..50 {
            writeln!(
                gz,
                "{{\"question\": \"q{question}\", \"steps\": [\"s\"], \"hard_labels\": [1]}}"
            )
            .unwrap();
        }
        let mut bytes = gz.finish().unwrap();
        // Stored (uncompressed) blocks: turn `"steps"` of a middle row into `"stops"`.
        let middle = bytes.len() / 2;
        let at = middle
            + bytes[middle..]
                .windows(7)
                .position(|w| w == b"\"steps\"")
                .unwrap();
        bytes[at + 3] = b'o';
        std::fs::write(&path, &bytes).unwrap();
        let error = format!(
            "{:#}",
            read_trajectories(&path, DataFormat::Jsonl).unwrap_err()
        );
        assert!(error.contains("is a damaged gzip file"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Stepwise-supervision rows are found from their first record and keep every completion.
    #[test]
    fn reads_stepwise_rows_found_from_their_first_record() {
        let dir = std::env::temp_dir().join(format!("actprm-stepwise-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prm.jsonl");
        std::fs::write(
            &path,
            "\n{\"prompt\": \"Q\", \"completions\": [\"a\", \"b\", \"c\"], \"labels\": [true, false, true]}\n",
        )
        .unwrap();
        assert_eq!(
            resolve_format(&path, DataFormat::Auto).unwrap(),
            DataFormat::Stepwise
        );
        let trajectories = read_trajectories(&path, DataFormat::Auto).unwrap();
        assert_eq!(trajectories.len(), 1);
        assert_eq!(trajectories[0].steps, ["a", "b", "c"]);
        assert_eq!(
            trajectories[0].label,
            Some(actprm_core::ProcessLabel::FirstErrorAt(1))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_limit_spreads_over_a_sorted_file() {
        // Eight erroneous items, then eight correct ones.
        let items: Vec<bool> = (0..16).map(|i| i < 8).collect();
        let subset = evenly_spaced(items.clone(), 4);
        assert_eq!(subset, [true, true, false, false]);
        assert_eq!(evenly_spaced((0..10).collect::<Vec<_>>(), 3), [0, 3, 6]);
        assert_eq!(evenly_spaced(items.clone(), 40), items);
        assert!(evenly_spaced(items, 0).is_empty());
    }
}
