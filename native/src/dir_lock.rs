//! An exclusive lock on an output directory, so that two processes never write one run: the
//! second gets a clear error instead of a torn file. The lock is the operating system's lock on
//! `.lock` inside the directory; it is released when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Name of the lock file inside a locked directory.
const LOCK_FILE: &str = ".lock";

/// A held lock; dropping it releases the directory.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir` (created when missing) for this process, or says which process's work
    /// holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => bail!(
                "{} is in use by another actprm process (it holds {}); wait for it to finish, \
                 or choose another output directory",
                dir.display(),
                path.display()
            ),
            Err(TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("actprm-lock-{}", std::process::id()));
        let first = DirLock::acquire(&dir).unwrap();
        let error = DirLock::acquire(&dir).unwrap_err().to_string();
        assert!(
            error.contains("in use by another actprm process"),
            "{error}"
        );
        drop(first);
        DirLock::acquire(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
