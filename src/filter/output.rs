//! Where `mlytiles filter` writes: a file is written beside its final place and renamed there
//! only when all went well, so a failed run leaves no half-written file (and an older one stays
//! as it was). A path that exists and is not a file (/dev/stdout, a pipe) is written in place:
//! renaming over it would replace the device. No path: standard output.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::input::STDOUT;

/// The output of one run.
pub(super) struct Output {
    path: Option<PathBuf>,
    /// The temporary file beside `path`, renamed over it by [`Output::commit`].
    staged: Option<tempfile::NamedTempFile>,
    /// How errors name the output.
    pub(super) name: String,
}

impl Output {
    pub(super) fn new(path: Option<&Path>) -> Result<Output> {
        let special = path.is_some_and(|p| p.exists() && !p.is_file());
        let staged = match path {
            Some(path) if !special => Some(stage(path)?),
            _ => None,
        };
        Ok(Output {
            path: path.map(Path::to_path_buf),
            staged,
            name: path.map_or_else(|| STDOUT.to_owned(), |p| format!("writing {}", p.display())),
        })
    }

    /// The temporary file renamed over the output by [`Output::commit`], when there is one
    /// (a GeoPackage is built there by SQLite).
    pub(super) fn staged_path(&self) -> Option<&Path> {
        self.staged.as_ref().map(tempfile::NamedTempFile::path)
    }

    /// A buffered writer to the output (from its start).
    pub(super) fn writer(&self) -> Result<Box<dyn Write>> {
        Ok(match (&self.staged, &self.path) {
            (Some(tmp), _) => Box::new(BufWriter::with_capacity(1 << 16, tmp.reopen()?)),
            (None, Some(path)) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                Box::new(BufWriter::with_capacity(1 << 16, file))
            }
            (None, None) => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
        })
    }

    /// Gives a staged file the output's name, once it is on disk: a power cut leaves the old
    /// file or the whole new one.
    pub(super) fn commit(self) -> Result<()> {
        if let (Some(tmp), Some(path)) = (self.staged, &self.path) {
            tmp.as_file().sync_all().context(self.name.clone())?;
            tmp.persist(path)
                .map_err(|e| e.error)
                .with_context(|| path.display().to_string())?;
        }
        Ok(())
    }
}

/// A temporary file in the output's folder, to be renamed over the output at the end.
fn stage(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!(
            "writing {}: the folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mlytiles-");
    // The file becomes the output: made as any new file is (0o666 less the umask), not with
    // the owner-only mode of temporary files.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder
        .tempfile_in(dir)
        // The error's own text names the temporary file; the output's name says more.
        .map_err(|e| std::io::Error::from(e.kind()))
        .with_context(|| format!("writing {}", path.display()))
}
