//! Reading NDJSON input, plain or gzip, line by line within a length bound.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

/// The name standing for standard input.
pub const STDIN_NAME: &str = "-";

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A line of input, or why it could not be read whole.
#[derive(Debug)]
pub enum Line<'a> {
    /// The line's bytes, without the line end.
    Complete(&'a [u8]),
    /// The line was longer than the bound; it was skipped to its end.
    TooLong {
        /// Bytes the line had (at least).
        bytes: usize,
    },
}

/// Counts bytes read from the underlying (possibly compressed) file, for progress.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// Reads the lines of one input (a file, or standard input for `-`), detecting gzip by its
/// magic bytes rather than by the file name.
pub struct LineReader {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    buffer: Vec<u8>,
    line_bytes_max: usize,
    line_number: u64,
    gzip: bool,
}

impl LineReader {
    /// Opens `path`; `bytes_read` is advanced as the raw file is read.
    pub fn open(
        path: &Path,
        line_bytes_max: usize,
        bytes_read: Arc<AtomicU64>,
    ) -> io::Result<Self> {
        let raw: Box<dyn Read + Send> = if path.as_os_str() == STDIN_NAME {
            Box::new(io::stdin())
        } else {
            Box::new(File::open(path)?)
        };
        let mut buffered = BufReader::with_capacity(
            256 * 1024,
            CountingReader {
                inner: raw,
                count: bytes_read,
            },
        );
        let gzip = buffered.fill_buf()?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn BufRead + Send> = if gzip {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            buffer: Vec::with_capacity(4096),
            line_bytes_max,
            line_number: 0,
            gzip,
        })
    }

    /// The input's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of the line last returned (1-based).
    pub fn line_number(&self) -> u64 {
        self.line_number
    }

    /// Whether the input is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The next line, `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buffer.clear();
        let limit = self.line_bytes_max as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)?;
        if read == 0 {
            return Ok(None);
        }
        self.line_number += 1;
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        } else if self.buffer.len() > self.line_bytes_max {
            // Over the bound and no line end yet: skip the rest of the line.
            let mut skipped = self.buffer.len();
            loop {
                let available = self.reader.fill_buf()?;
                if available.is_empty() {
                    break;
                }
                match available.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        skipped += end;
                        self.reader.consume(end + 1);
                        break;
                    }
                    None => {
                        let length = available.len();
                        skipped += length;
                        self.reader.consume(length);
                    }
                }
            }
            return Ok(Some(Line::TooLong { bytes: skipped }));
        }
        Ok(Some(Line::Complete(&self.buffer)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(content: &[u8], max: usize) -> Vec<String> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(content).unwrap();
        let mut reader = LineReader::open(file.path(), max, Arc::default()).unwrap();
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(match line {
                Line::Complete(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Line::TooLong { bytes } => format!("<too long: {bytes}>"),
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_bounds_them() {
        assert_eq!(lines(b"a\r\nbb\n\nccc", 10), ["a", "bb", "", "ccc"]);
        assert_eq!(
            lines(b"short\nxxxxxxxxxxxxxxxx\nok\n", 8),
            ["short", "<too long: 16>", "ok"]
        );
    }

    #[test]
    fn reads_gzip_by_magic_bytes() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"one\ntwo\n").unwrap();
        let compressed = encoder.finish().unwrap();
        assert_eq!(lines(&compressed, 100), ["one", "two"]);
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&b"{\"v\":1}\n".repeat(1000)).unwrap();
        let compressed = encoder.finish().unwrap();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&compressed[..compressed.len() / 2]).unwrap();
        let mut reader = LineReader::open(file.path(), 100, Arc::default()).unwrap();
        let error = loop {
            match reader.next_line() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("a truncated stream must not end cleanly"),
                Err(error) => break error,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
