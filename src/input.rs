//! Reading a tile: from a file or standard input (`-`), gunzipped when it is gzip, with the tile
//! id taken from a `.../Z/X/Y.mvt` path when there is one.

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use mlytiles_mvt::{DEFAULT_MAX_DECOMPRESSED, decompress, is_gzip};
use mlytiles_tile::TileId;

/// The name standard input goes by in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// The context of errors writing the output.
pub const STDOUT: &str = "writing to standard output";

/// One tile's bytes and what is known about where they came from.
#[derive(Debug)]
pub struct Input {
    /// The path as given (or [`STDIN_NAME`]), for messages.
    pub name: String,
    /// The tile id the path names, if it ends in `Z/X/Y.mvt` (see [`tile_id_from_path`]).
    pub path_tile: Option<TileId>,
    /// How many bytes were read.
    pub read_len: usize,
    /// Whether those bytes were gzip-compressed.
    pub gzipped: bool,
    /// The uncompressed tile.
    pub bytes: Vec<u8>,
}

impl Input {
    /// Reads `path` (`-` is standard input) and decompresses it if it is gzip, with the cap of
    /// [`DEFAULT_MAX_DECOMPRESSED`] bytes.
    ///
    /// # Errors
    ///
    /// An I/O error or a corrupt gzip stream, with the path as context.
    pub fn read(path: &Path) -> Result<Input> {
        let (name, raw) = if path == Path::new("-") {
            let mut raw = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut raw)
                .context(STDIN_NAME)?;
            (STDIN_NAME.to_owned(), raw)
        } else {
            let name = path.display().to_string();
            let raw = fs::read(path).with_context(|| name.clone())?;
            (name, raw)
        };
        let read_len = raw.len();
        let gzipped = is_gzip(&raw);
        let bytes = if gzipped {
            decompress(&raw, DEFAULT_MAX_DECOMPRESSED)
                .with_context(|| name.clone())?
                .into_owned()
        } else {
            raw
        };
        let path_tile = if path == Path::new("-") {
            None
        } else {
            tile_id_from_path(path)
        };
        Ok(Input {
            name,
            path_tile,
            read_len,
            gzipped,
            bytes,
        })
    }
}

/// The tile id of a path laid out as a tile folder, `.../Z/X/Y.mvt`, also with the extension
/// `.pbf` and either of them followed by `.gz`. `None` for any other path, or when the numbers
/// are not a valid tile (`15/99999/0.mvt`).
pub fn tile_id_from_path(path: &Path) -> Option<TileId> {
    let mut parts = path.iter().rev().map(|p| p.to_str());
    let file = parts.next()??;
    let x = parts.next()??;
    let z = parts.next()??;
    let file = file.strip_suffix(".gz").unwrap_or(file);
    let y = file
        .strip_suffix(".mvt")
        .or_else(|| file.strip_suffix(".pbf"))?;
    // TileId's parser accepts only plain decimal digits and checks the ranges.
    format!("{z}/{x}/{y}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(path: &str) -> Option<String> {
        tile_id_from_path(Path::new(path)).map(|t| t.to_string())
    }

    #[test]
    fn tile_ids_from_tile_folder_paths() {
        let want = Some("14/3251/6257".to_owned());
        assert_eq!(id("fixtures/sample/14/3251/6257.mvt"), want);
        assert_eq!(id("14/3251/6257.pbf"), want);
        assert_eq!(id("/tmp/t/14/3251/6257.mvt.gz"), want);
        assert_eq!(id("t/14/3251/6257.pbf.gz"), want);
        assert_eq!(id("0/0/0.mvt"), Some("0/0/0".to_owned()));
    }

    #[test]
    fn other_paths_have_no_tile_id() {
        for path in [
            "sample.mvt",
            "3251/6257.mvt",
            "14/3251/6257",
            "14/3251/6257.png",
            "14/3251/6257.gz",
            "14/3251/+6257.mvt",
            "14/x/6257.mvt",
            "15/99999/0.mvt",
            "31/0/0.mvt",
            "14/3251/.mvt",
            "-",
        ] {
            assert_eq!(id(path), None, "{path}");
        }
    }
}
