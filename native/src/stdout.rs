//! Standard output, where results are printed: a write that fails is an error, never a panic.
//! A reader that closes the pipe early (`actprm eval … | head -1`) ends the command quietly,
//! as it ends any Unix tool; any other failure (a full disk behind `>`) names standard output.

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};

use anyhow::{Context, Result};

/// `println!` that returns the write's error (see [`write_line`]) instead of panicking.
macro_rules! outln {
    () => {
        $crate::stdout::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::stdout::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes `line` and a newline to standard output.
pub fn write_line(line: Arguments<'_>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .context("writing to standard output")
}

/// Whether `error` is a write to a pipe its reader has closed.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
    })
}
