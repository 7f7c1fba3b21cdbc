//! Standard output that remembers when its reader went away (`heatlake sql ... | head`).
//!
//! Some encoders (Arrow's CSV writer) turn a write error into a message and drop the
//! [`std::io::Error`], so the error that reaches `main` no longer says the pipe closed. This
//! writer notes it where the operating system reports it.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to standard output failed because its reader closed the pipe.
static READER_GONE: AtomicBool = AtomicBool::new(false);

/// Standard output, noting a closed pipe.
#[derive(Debug)]
pub struct Stdout(std::io::Stdout);

/// The process's standard output.
pub fn stdout() -> Stdout {
    Stdout(std::io::stdout())
}

/// Whether a write to standard output found its reader gone.
pub fn reader_gone() -> bool {
    READER_GONE.load(Ordering::Relaxed)
}

fn note<T>(outcome: std::io::Result<T>) -> std::io::Result<T> {
    if let Err(error) = &outcome
        && error.kind() == ErrorKind::BrokenPipe
    {
        READER_GONE.store(true, Ordering::Relaxed);
    }
    outcome
}

impl Write for Stdout {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        note(self.0.write(bytes))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        note(self.0.flush())
    }
}
