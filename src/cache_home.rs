//! Which cache folder a command reads: `--cache DIR`, else `MLYTILES_CACHE`, else the user
//! cache folder's `mlytiles` (for every command), and the bundled sample area that `render`
//! and `serve` show when the default cache holds no store yet.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where the bundled sample area is (in words, for messages).
pub const SAMPLE_PLACE: &str = "near Grand Junction, CO";

/// The sample area's stores, compiled into the binary so that an installed binary has them
/// wherever it runs (1.7 MB; `fixtures/cache` in the source tree, made by `mlytiles-synth`).
const SAMPLE_STORES: [(&str, &[u8]); 4] = [
    (
        "mly1_public.mbtiles",
        include_bytes!("../fixtures/cache/mly1_public.mbtiles"),
    ),
    (
        "mly1_computed_public.mbtiles",
        include_bytes!("../fixtures/cache/mly1_computed_public.mbtiles"),
    ),
    (
        "mly_map_feature_point.mbtiles",
        include_bytes!("../fixtures/cache/mly_map_feature_point.mbtiles"),
    ),
    (
        "mly_map_feature_traffic_sign.mbtiles",
        include_bytes!("../fixtures/cache/mly_map_feature_traffic_sign.mbtiles"),
    ),
];

/// The default cache folder: `MLYTILES_CACHE`, else the user cache folder's `mlytiles`
/// (`~/.cache/mlytiles` on Linux).
///
/// # Errors
///
/// When neither is known (no home folder).
pub fn default_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("MLYTILES_CACHE").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::cache_dir()
        .map(|d| d.join("mlytiles"))
        .context("no user cache folder on this system (no home folder): give --cache DIR")
}

/// `--cache DIR` if given, else [`default_dir`].
pub fn resolve(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    match given {
        Some(dir) => Ok(dir.to_path_buf()),
        None => default_dir(),
    }
}

/// A cache folder to read: the user's, or the bundled sample unpacked into a temporary folder
/// (removed when this is dropped).
#[derive(Debug)]
pub struct ReadCache {
    /// The folder to open.
    pub dir: PathBuf,
    /// Whether it is the bundled sample.
    pub is_sample: bool,
    /// The cache the user's settings name (`dir` itself unless the sample stands in for it).
    pub named: PathBuf,
    _sample: Option<tempfile::TempDir>,
}

impl ReadCache {
    /// The cache a reading command (`render`, `serve`) uses: `--cache DIR` as given (an error
    /// when it holds no store), else the default cache, or the bundled sample when the
    /// default cache holds no store yet (with one line on stderr saying so).
    ///
    /// # Errors
    ///
    /// A `--cache` folder that does not exist or holds no store; failing to unpack the
    /// sample.
    pub fn open(given: Option<&Path>) -> anyhow::Result<ReadCache> {
        if let Some(dir) = given {
            anyhow::ensure!(dir.is_dir(), "{}: no such cache folder", dir.display());
            anyhow::ensure!(
                holds_a_store(dir),
                "the cache {} holds no tile store: fill it with `mlytiles fetch --cache {} \
                 --bbox W,S,E,N`",
                dir.display(),
                dir.display()
            );
            return Ok(ReadCache {
                dir: dir.to_path_buf(),
                is_sample: false,
                named: dir.to_path_buf(),
                _sample: None,
            });
        }
        let dir = default_dir()?;
        if holds_a_store(&dir) {
            return Ok(ReadCache {
                named: dir.clone(),
                dir,
                is_sample: false,
                _sample: None,
            });
        }
        let sample = unpack_sample()?;
        eprintln!(
            "the cache {} is empty: showing the bundled sample area {SAMPLE_PLACE}; fetch your \
             area with `mlytiles fetch --bbox W,S,E,N`",
            dir.display()
        );
        Ok(ReadCache {
            dir: sample.path().to_path_buf(),
            is_sample: true,
            named: dir,
            _sample: Some(sample),
        })
    }

    /// How messages name this cache: its folder, or the sample.
    pub fn describe(&self) -> String {
        if self.is_sample {
            format!("the bundled sample area {SAMPLE_PLACE}")
        } else {
            format!("the cache {}", self.dir.display())
        }
    }
}

/// Whether `dir` holds an MBTiles store, a PMTiles archive or a store folder
/// (`{tileset}/{z}/...`).
pub fn holds_a_store(dir: &Path) -> bool {
    stores(dir).is_ok_and(|s| !s.is_empty())
}

/// The stores of a cache folder, sorted by tileset: `{tileset}.mbtiles` and `{tileset}.pmtiles`
/// files and `{tileset}/` folders whose first level is zoom folders.
///
/// # Errors
///
/// When the folder cannot be listed.
pub fn stores(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let is_zoom = |e: std::fs::DirEntry| {
        e.file_name()
            .to_str()
            .is_some_and(|z| z.parse::<u8>().is_ok())
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let archive = file.strip_suffix(".pmtiles").filter(|_| path.is_file());
        let name = match file.strip_suffix(".mbtiles").or(archive) {
            Some(n) if path.is_file() => n,
            None if path.is_dir()
                && std::fs::read_dir(&path).is_ok_and(|z| z.flatten().any(is_zoom)) =>
            {
                file
            }
            _ => continue,
        };
        if mlytiles_store::validate_tileset_name(name).is_ok() {
            out.push((name.to_string(), path));
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the sample stores into a new temporary folder.
fn unpack_sample() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("mlytiles-sample-")
        .tempdir()
        .context("creating a temporary folder for the bundled sample")?;
    for (name, bytes) in SAMPLE_STORES {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes)
            .with_context(|| format!("unpacking the bundled sample to {}", path.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_unpacks_into_a_cache_that_holds_stores() {
        let dir = unpack_sample().unwrap();
        assert!(holds_a_store(dir.path()));
        let cache = mlytiles_store::Cache::open(dir.path()).unwrap();
        let mut names = cache.tilesets().unwrap();
        names.sort();
        assert_eq!(
            names,
            [
                "mly1_computed_public",
                "mly1_public",
                "mly_map_feature_point",
                "mly_map_feature_traffic_sign"
            ]
        );
    }

    #[test]
    fn empty_and_missing_folders_hold_no_store() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!holds_a_store(dir.path()));
        assert!(!holds_a_store(&dir.path().join("nope")));
        std::fs::create_dir(dir.path().join("notes")).unwrap();
        std::fs::write(dir.path().join("budget.json"), "{}").unwrap();
        assert!(!holds_a_store(dir.path()));
        std::fs::create_dir_all(dir.path().join("mly1_public/14")).unwrap();
        assert!(holds_a_store(dir.path()));
    }
}
