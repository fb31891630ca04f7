//! Files and directories written whole or not at all, and durably.
//!
//! A file goes into a staging sibling (`.<name>.<pid>.partial`), which is synced and renamed
//! over it, and then its directory is synced: the name holds the old bytes or the new ones,
//! even after a power cut. A directory's files go into a staging sibling (`<dir>.partial`),
//! each synced, the old directory is moved aside (`<dir>.previous`) and the staging one
//! renamed into place, so a write stopped at any point leaves a whole directory to read: the
//! new one, or the previous one kept beside it. A write that fails (a full disk) removes what
//! it staged, so that the space is free for the next try.

use std::path::{Path, PathBuf};

use crate::storage::{Disk, Storage};

/// A file or directory that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FileError {
    /// The file or directory.
    pub path: PathBuf,
    /// The underlying error.
    pub source: std::io::Error,
}

/// Writes `bytes` to the file `path`, replacing what it held only once they are all on the
/// device. A `path` that is a link, or exists and is not a regular file (a device such as
/// `/dev/full`, a pipe), is written to directly: renaming over it would replace it.
pub fn write_whole_file(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_whole_file_on(&mut Disk, path, bytes)
}

/// [`write_whole_file`] through `storage`.
pub(crate) fn write_whole_file_on(
    storage: &mut impl Storage,
    path: &Path,
    bytes: &[u8],
) -> Result<(), FileError> {
    if path
        .symlink_metadata()
        .is_ok_and(|metadata| !metadata.is_file())
    {
        return storage.write(path, bytes).map_err(at(path));
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let staging = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let staged = storage
        .write(&staging, bytes)
        .and_then(|()| storage.sync_file(&staging))
        .map_err(at(&staging));
    if let Err(error) = staged {
        // Best effort: the write's own error is the one to report.
        let _ = storage.remove_file(&staging);
        return Err(error);
    }
    storage.rename(&staging, path).map_err(at(path))?;
    let dir = parent(path);
    storage.sync_dir(&dir).map_err(at(&dir))
}

/// Writes `files` (name, bytes) into `dir`, replacing whatever `dir` held only once all of
/// them are on the device.
pub fn write_whole_dir(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), FileError> {
    write_whole_dir_on(&mut Disk, dir, files)
}

/// [`write_whole_dir`] through `storage`.
pub(crate) fn write_whole_dir_on(
    storage: &mut impl Storage,
    dir: &Path,
    files: &[(&str, &[u8])],
) -> Result<(), FileError> {
    let staging = sibling(dir, "partial");
    let previous = sibling(dir, "previous");
    if !dir.exists() && previous.exists() {
        // The last write stopped between its renames: the previous directory is the whole one.
        storage.rename(&previous, dir).map_err(at(dir))?;
    }
    storage.remove_dir_all(&staging).map_err(at(&staging))?;
    if let Err(error) = stage(storage, &staging, files) {
        // Best effort: the write's own error is the one to report.
        let _ = storage.remove_dir_all(&staging);
        return Err(error);
    }
    storage.remove_dir_all(&previous).map_err(at(&previous))?;
    if dir.exists() {
        storage.rename(dir, &previous).map_err(at(dir))?;
    }
    storage.rename(&staging, dir).map_err(at(dir))?;
    let parent = parent(dir);
    storage.sync_dir(&parent).map_err(at(&parent))?;
    storage.remove_dir_all(&previous).map_err(at(&previous))
}

/// `files` written and synced into the new directory `staging`, itself synced.
fn stage(
    storage: &mut impl Storage,
    staging: &Path,
    files: &[(&str, &[u8])],
) -> Result<(), FileError> {
    storage.create_dir_all(staging).map_err(at(staging))?;
    for (name, bytes) in files {
        let path = staging.join(name);
        storage
            .write(&path, bytes)
            .and_then(|()| storage.sync_file(&path))
            .map_err(at(&path))?;
    }
    storage.sync_dir(staging).map_err(at(staging))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
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
    Disk.remove_dir_all(dir).map_err(at(dir))
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
    use std::fs;

    use super::*;
    use crate::storage::recording::{Op, Recording};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("actprm-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The staged file reaches the device before its name replaces the old one, and the
    /// rename reaches it before the write returns.
    #[test]
    fn a_file_is_synced_before_its_rename_and_its_directory_after() {
        let dir = scratch("whole-file");
        let path = dir.join("state.json");
        let mut storage = Recording::default();
        write_whole_file_on(&mut storage, &path, b"new").unwrap();
        let staged = format!(".state.json.{}.partial", std::process::id());
        let parent = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            storage.ops,
            [
                Op::Write(staged.clone()),
                Op::SyncFile(staged.clone()),
                Op::Rename(staged, "state.json".into()),
                Op::SyncDir(parent),
            ]
        );
        assert_eq!(fs::read(&path).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Every file is synced, then the staging directory, before it is renamed into place, and
    /// the parent after.
    #[test]
    fn a_directory_is_synced_before_its_rename_and_its_parent_after() {
        let root = scratch("whole-dir-syncs");
        let dir = root.join("checkpoint");
        write_whole_dir(&dir, &[("a", b"1")]).unwrap();
        let mut storage = Recording::default();
        write_whole_dir_on(&mut storage, &dir, &[("a", b"2"), ("b", b"2")]).unwrap();
        let position = |op: Op| {
            storage
                .ops
                .iter()
                .position(|done| *done == op)
                .unwrap_or_else(|| panic!("{op:?} not in {:?}", storage.ops))
        };
        let rename = position(Op::Rename("checkpoint.partial".into(), "checkpoint".into()));
        for file in ["a", "b"] {
            assert!(position(Op::Write(file.into())) < position(Op::SyncFile(file.into())));
            assert!(position(Op::SyncFile(file.into())) < rename);
        }
        assert!(position(Op::SyncDir("checkpoint.partial".into())) < rename);
        let parent = root.file_name().unwrap().to_string_lossy().into_owned();
        assert!(rename < position(Op::SyncDir(parent)));
        fs::remove_dir_all(&root).unwrap();
    }

    /// A device is written to, never renamed over.
    #[test]
    #[cfg(unix)]
    fn a_device_is_written_to_in_place() {
        let mut storage = Recording::default();
        write_whole_file_on(&mut storage, Path::new("/dev/null"), b"gone").unwrap();
        assert_eq!(storage.ops, [Op::Write("null".into())]);
        let mut storage = Recording::default();
        write_whole_file_on(&mut storage, Path::new("/dev/stderr"), b"").unwrap();
        assert_eq!(storage.ops, [Op::Write("stderr".into())], "a link is kept");
        let error = write_whole_file(Path::new("/dev/full"), b"no room").unwrap_err();
        assert_eq!(error.source.raw_os_error(), Some(28), "{error}");
        assert!(!Path::new("/dev/full").is_file(), "still a device");
    }

    /// A full disk fails the write, keeps what was there, and leaves nothing staged behind.
    #[test]
    fn a_full_disk_leaves_the_old_contents_and_no_debris() {
        let root = scratch("whole-full");
        let file = root.join("summary.json");
        write_whole_file(&file, b"old").unwrap();
        let error = write_whole_file_on(&mut Recording::full_after(0), &file, b"new").unwrap_err();
        assert_eq!(error.source.raw_os_error(), Some(28), "{error}");
        assert_eq!(fs::read(&file).unwrap(), b"old");

        let dir = root.join("resume");
        write_whole_dir(&dir, &[("a", b"old")]).unwrap();
        let mut storage = Recording::full_after(1);
        write_whole_dir_on(&mut storage, &dir, &[("a", b"new"), ("b", b"new")]).unwrap_err();
        assert_eq!(fs::read(dir.join("a")).unwrap(), b"old");

        let mut left: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["resume", "summary.json"], "nothing staged is left");
        fs::remove_dir_all(&root).unwrap();
    }

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
