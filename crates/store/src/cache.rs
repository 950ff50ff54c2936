//! A cache folder: one store per tileset.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Location, Result};
use crate::{FolderStore, MbTiles, TileStore};

/// Which kind of store a [`Cache`] makes for each tileset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    /// `dir/{tileset}.mbtiles` ([`MbTiles`]). The default.
    #[default]
    MbTiles,
    /// `dir/{tileset}/` ([`FolderStore`]).
    Folder,
}

/// A cache folder holding one store per tileset, e.g. `dir/mly1_public.mbtiles`.
///
/// Stores are opened on first use and shared: asking twice for one tileset gives the same
/// store.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    backend: Backend,
    open: Mutex<HashMap<String, Arc<dyn TileStore>>>,
}

impl std::fmt::Debug for dyn TileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TileStore({})", self.path().display())
    }
}

impl Cache {
    /// Opens (creating it if needed) a cache folder of MBTiles stores.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the folder cannot be created.
    pub fn open(dir: impl AsRef<Path>) -> Result<Cache> {
        Cache::with_backend(dir, Backend::MbTiles)
    }

    /// Opens (creating it if needed) a cache folder whose stores are of kind `backend`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the folder cannot be created.
    pub fn with_backend(dir: impl AsRef<Path>, backend: Backend) -> Result<Cache> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            at: Location::new(&dir, None),
            source,
        })?;
        Ok(Cache {
            dir,
            backend,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the store of `tileset` lives.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTilesetName`] (see [`validate_tileset_name`]).
    pub fn store_path(&self, tileset: &str) -> Result<PathBuf> {
        validate_tileset_name(tileset)?;
        Ok(match self.backend {
            Backend::MbTiles => self.dir.join(format!("{tileset}.mbtiles")),
            Backend::Folder => self.dir.join(tileset),
        })
    }

    /// The store of `tileset`, opened (and created) on first use.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTilesetName`], or the errors of [`MbTiles::open`] /
    /// [`FolderStore::open`].
    pub fn store(&self, tileset: &str) -> Result<Arc<dyn TileStore>> {
        let path = self.store_path(tileset)?;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = open.get(tileset) {
            return Ok(Arc::clone(store));
        }
        let store: Arc<dyn TileStore> = match self.backend {
            Backend::MbTiles => Arc::new(MbTiles::open(&path)?),
            Backend::Folder => Arc::new(FolderStore::open(&path)?),
        };
        open.insert(tileset.to_string(), Arc::clone(&store));
        Ok(store)
    }

    /// The tilesets that have a store in the folder, sorted.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the folder cannot be listed.
    pub fn tilesets(&self) -> Result<Vec<String>> {
        let io = |source| Error::Io {
            at: Location::new(&self.dir, None),
            source,
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let name = match self.backend {
                Backend::MbTiles => match name.strip_suffix(".mbtiles") {
                    Some(n) => n.to_string(),
                    None => continue,
                },
                Backend::Folder if entry.path().is_dir() => name,
                Backend::Folder => continue,
            };
            if validate_tileset_name(&name).is_ok() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Checks that a tileset name is safe as a file name: 1 to 128 characters among ASCII letters,
/// digits, `_`, `-` and `.`, not starting with `.` (so no `..`, no hidden files, no path
/// separators).
///
/// # Errors
///
/// [`Error::InvalidTilesetName`] with the reason.
///
/// # Examples
///
/// ```
/// use mlytiles_store::validate_tileset_name;
///
/// assert!(validate_tileset_name("mly1_public").is_ok());
/// assert!(validate_tileset_name("../etc").is_err());
/// assert!(validate_tileset_name("a/b").is_err());
/// ```
pub fn validate_tileset_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 128 {
        Some("it is longer than 128 characters")
    } else if name.starts_with('.') {
        Some("it starts with '.'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        Some("only ASCII letters, digits, '_', '-' and '.' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidTilesetName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}
