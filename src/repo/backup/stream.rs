//! The streams a snapshot stores (a dump, binlog parts, a spool's files), and the reader
//! adapter rustic's chunker needs for them.

use std::io::Read;

use crate::repo::BlobRef;

/// A named byte stream; `size` when known beforehand (unknown for a dump: corrected after).
pub struct Stream {
    pub name: String,
    pub size: Option<u64>,
    pub reader: Box<dyn Read + Send>,
    /// The file's content as blobs already in the repository: nothing is read from `reader`.
    pub(in crate::repo) stored: Option<Vec<BlobRef>>,
}

impl Stream {
    pub fn new(name: impl Into<String>, reader: impl Read + Send + 'static) -> Self {
        Self {
            name: name.into(),
            size: None,
            reader: Box::new(reader),
            stored: None,
        }
    }

    /// A file of `size` bytes made of blobs the repository already holds, in order (the parts
    /// of a binlog file, merged): saved without reading or writing data.
    pub fn stored(name: impl Into<String>, size: u64, blobs: Vec<BlobRef>) -> Self {
        Self {
            stored: Some(blobs),
            ..Self::sized(name, size, std::io::empty())
        }
    }

    /// A stream of exactly `size` bytes.
    pub fn sized(name: impl Into<String>, size: u64, reader: impl Read + Send + 'static) -> Self {
        Self {
            size: Some(size),
            ..Self::new(name, reader)
        }
    }
}

/// Fills every buffer it is given, short only at the end of the stream. rustic's chunker
/// shrinks its read buffer to the length of each short read and never grows it back, so a pipe's
/// short reads would degrade it to reads of a few bytes each (measured: a third of a full dump's
/// CPU went to those calls).
pub(super) struct FillReader<R> {
    inner: R,
    /// An error met after part of a buffer was filled: reported by the next call.
    error: Option<std::io::Error>,
}

impl<R: Read> FillReader<R> {
    pub(super) fn new(inner: R) -> Self {
        Self { inner, error: None }
    }
}

impl<R: Read> Read for FillReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if filled == 0 => return Err(e),
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::FillReader;
    use std::io::Read;

    /// Hands out at most 3 bytes per call, then fails once.
    struct Trickle(Vec<u8>, bool);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                if self.1 {
                    self.1 = false;
                    return Err(std::io::Error::other("broken pipe"));
                }
                return Ok(0);
            }
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn fill_reader_fills_buffers_and_keeps_a_late_error_for_the_next_call() {
        let mut r = FillReader::new(Trickle(b"0123456789".to_vec(), true));
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf).unwrap(), 8);
        assert_eq!(&buf, b"01234567");
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        assert!(r.read(&mut buf).is_err());
        assert_eq!(r.read(&mut buf).unwrap(), 0);
    }
}
