//! gzip input: recognising it and decompressing it with a size cap.

use std::borrow::Cow;
use std::io::Read;

use crate::error::{Error, ErrorKind, Result};

/// A generous cap for one decompressed tile: the densest real Mapillary tiles are around 10 MB.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// Whether the bytes start with the gzip magic number `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Returns the tile bytes: borrowed if they are not gzip-compressed, decompressed otherwise,
/// stopping with an error as soon as the output would pass `max_len` bytes (so a small "gzip
/// bomb" cannot make the program allocate gigabytes).
///
/// # Errors
///
/// [`ErrorKind::Decompress`] if the gzip stream is corrupt or truncated, or decompresses to more
/// than `max_len` bytes.
///
/// # Examples
///
/// ```
/// let plain = [0x1a, 0x00];
/// let bytes = mlytiles_mvt::decompress(&plain, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)?;
/// assert_eq!(&*bytes, &plain);
/// # Ok::<(), mlytiles_mvt::Error>(())
/// ```
pub fn decompress(bytes: &[u8], max_len: usize) -> Result<Cow<'_, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    inflate(bytes, max_len).map(Cow::Owned)
}

/// [`decompress`] of gzip data. A function of its own: the decoder's state is tens of KB of
/// stack, and in `decompress` itself every call (most on bytes that are not gzip) stepped
/// its stack down over that many pages, each a page fault the first time (19 of a lone
/// tile's render).
#[inline(never)]
fn inflate(bytes: &[u8], max_len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(max_len));
    let limit = max_len as u64 + 1;
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::new(ErrorKind::Decompress(format!("gzip data is corrupt: {e}"))))?;
    if out.len() > max_len {
        return Err(Error::new(ErrorKind::Decompress(format!(
            "gzip data decompresses to more than the limit of {max_len} bytes"
        ))));
    }
    Ok(out)
}
