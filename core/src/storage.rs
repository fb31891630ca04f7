//! The file-system operations that writing a file or a directory whole and durably is made of
//! ([`crate::whole_dir`]), behind a trait so that tests can check their order: a renamed name
//! must never point at data that a power cut could still lose.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// The operations of a durable write.
pub trait Storage {
    /// Creates (or truncates) the file `path` and writes `bytes` into it, without syncing.
    fn write(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Flushes the file `path`'s data and metadata to the device.
    fn sync_file(&mut self, path: &Path) -> io::Result<()>;
    /// Flushes the directory `dir`'s entries (names created, renamed or removed in it).
    fn sync_dir(&mut self, dir: &Path) -> io::Result<()>;
    /// Creates the directory `dir` and its missing parents.
    fn create_dir_all(&mut self, dir: &Path) -> io::Result<()>;
    /// Renames `from` to `to`, replacing a file at `to`.
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file `path`; a missing one is not an error.
    fn remove_file(&mut self, path: &Path) -> io::Result<()>;
    /// Removes the directory `dir` and everything in it; a missing one is not an error.
    fn remove_dir_all(&mut self, dir: &Path) -> io::Result<()>;
}

/// The machine's file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl Storage for Disk {
    fn write(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        File::create(path)?.write_all(bytes)
    }

    fn sync_file(&mut self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        // Directories are synced through a handle opened for reading; some systems (Windows)
        // cannot open one, and order their metadata writes themselves.
        match File::open(dir) {
            Ok(handle) => handle.sync_all(),
            Err(_) if cfg!(windows) => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn create_dir_all(&mut self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&mut self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    fn remove_dir_all(&mut self, dir: &Path) -> io::Result<()> {
        match fs::remove_dir_all(dir) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// A [`Disk`] that records every operation, and can fail the writes, for tests.
#[cfg(test)]
pub(crate) mod recording {
    use std::io;
    use std::path::Path;

    use super::{Disk, Storage};

    /// One operation, with the last component of its path (or both, for a rename).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum Op {
        Write(String),
        SyncFile(String),
        SyncDir(String),
        CreateDir(String),
        Rename(String, String),
        RemoveFile(String),
        RemoveDir(String),
    }

    /// Records what it does; with `full_after` set, every write after that many fails as a
    /// full disk does.
    #[derive(Debug, Default)]
    pub(crate) struct Recording {
        pub(crate) ops: Vec<Op>,
        full_after: Option<usize>,
        writes: usize,
    }

    impl Recording {
        /// A recording disk on which every write after the first `writes` fails.
        pub(crate) fn full_after(writes: usize) -> Self {
            Self {
                full_after: Some(writes),
                ..Self::default()
            }
        }
    }

    fn name(path: &Path) -> String {
        path.file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
    }

    impl Storage for Recording {
        fn write(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
            self.ops.push(Op::Write(name(path)));
            self.writes += 1;
            if self.full_after.is_some_and(|limit| self.writes > limit) {
                // A full disk takes part of the data, then refuses the rest.
                Disk.write(path, &bytes[..bytes.len() / 2])?;
                return Err(io::Error::from_raw_os_error(28));
            }
            Disk.write(path, bytes)
        }

        fn sync_file(&mut self, path: &Path) -> io::Result<()> {
            self.ops.push(Op::SyncFile(name(path)));
            Disk.sync_file(path)
        }

        fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
            self.ops.push(Op::SyncDir(name(dir)));
            Disk.sync_dir(dir)
        }

        fn create_dir_all(&mut self, dir: &Path) -> io::Result<()> {
            self.ops.push(Op::CreateDir(name(dir)));
            Disk.create_dir_all(dir)
        }

        fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
            self.ops.push(Op::Rename(name(from), name(to)));
            Disk.rename(from, to)
        }

        fn remove_file(&mut self, path: &Path) -> io::Result<()> {
            self.ops.push(Op::RemoveFile(name(path)));
            Disk.remove_file(path)
        }

        fn remove_dir_all(&mut self, dir: &Path) -> io::Result<()> {
            self.ops.push(Op::RemoveDir(name(dir)));
            Disk.remove_dir_all(dir)
        }
    }
}
