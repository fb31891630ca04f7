//! Directories written whole or not at all. The files go into a staging sibling
//! (`<dir>.partial`), the old directory is moved aside (`<dir>.previous`), and the staging one
//! is renamed into place, so a write stopped at any point leaves a whole directory to read:
//! the new one, or the previous one kept beside it.

use std::fs;
use std::path::{Path, PathBuf};

/// A file or directory that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FileError {
    /// The file or directory.
    pub path: PathBuf,
    /// The underlying error.
    pub source: std::io::Error,
}

/// Writes `files` (name, bytes) into `dir`, replacing whatever `dir` held only once all of
/// them are written.
pub fn write_whole_dir(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), FileError> {
    let staging = sibling(dir, "partial");
    let previous = sibling(dir, "previous");
    if !dir.exists() && previous.exists() {
        // The last write stopped between its renames: the previous directory is the whole one.
        fs::rename(&previous, dir).map_err(at(dir))?;
    }
    remove_dir_if_present(&staging)?;
    fs::create_dir_all(&staging).map_err(at(&staging))?;
    for (name, bytes) in files {
        let path = staging.join(name);
        fs::write(&path, bytes).map_err(at(&path))?;
    }
    remove_dir_if_present(&previous)?;
    if dir.exists() {
        fs::rename(dir, &previous).map_err(at(dir))?;
    }
    fs::rename(&staging, dir).map_err(at(dir))?;
    remove_dir_if_present(&previous)
}

/// The directory to read for `dir`: `dir` itself, or the previous one kept beside it when a
/// [`write_whole_dir`] stopped between its two renames.
pub fn settled_dir(dir: &Path) -> PathBuf {
    let previous = sibling(dir, "previous");
    if !dir.exists() && previous.exists() {
        previous
    } else {
        dir.to_path_buf()
    }
}

/// Removes `dir` with its staging and previous siblings.
pub fn remove_whole_dir(dir: &Path) -> Result<(), FileError> {
    remove_dir_if_present(&sibling(dir, "partial"))?;
    remove_dir_if_present(dir)?;
    remove_dir_if_present(&sibling(dir, "previous"))
}

/// `dir` with `.suffix` appended to its last component.
pub(crate) fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

fn remove_dir_if_present(dir: &Path) -> Result<(), FileError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(at(dir)(e)),
        _ => Ok(()),
    }
}

/// Attaches `path` to an I/O error.
fn at(path: &Path) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |source| FileError {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_write_leaves_a_whole_directory() {
        let dir = std::env::temp_dir()
            .join(format!("actprm-whole-dir-{}", std::process::id()))
            .join("state");
        write_whole_dir(&dir, &[("a", b"1"), ("b", b"1")]).unwrap();
        write_whole_dir(&dir, &[("a", b"2"), ("b", b"2")]).unwrap();
        let read = |name: &str| fs::read(settled_dir(&dir).join(name)).unwrap();
        assert_eq!((read("a"), read("b")), (b"2".to_vec(), b"2".to_vec()));
        assert!(!sibling(&dir, "partial").exists() && !sibling(&dir, "previous").exists());

        // Stopped while staging: the staging directory is ignored and replaced next time.
        fs::create_dir_all(sibling(&dir, "partial")).unwrap();
        fs::write(sibling(&dir, "partial").join("a"), b"3").unwrap();
        assert_eq!(read("a"), b"2");
        // Stopped between the two renames: the previous directory is read.
        fs::rename(&dir, sibling(&dir, "previous")).unwrap();
        assert!(settled_dir(&dir).exists());
        assert_eq!((read("a"), read("b")), (b"2".to_vec(), b"2".to_vec()));
        write_whole_dir(&dir, &[("a", b"4")]).unwrap();
        assert_eq!(read("a"), b"4");
        assert!(
            !settled_dir(&dir).join("b").exists(),
            "nothing of the old one"
        );

        remove_whole_dir(&dir).unwrap();
        assert!(!settled_dir(&dir).exists() && !sibling(&dir, "partial").exists());
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
