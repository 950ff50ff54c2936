//! A tile's bytes, read into memory or, for a large tile file, mapped.
//!
//! Reading a file copies it into fresh memory, and on Linux each fresh page costs a page
//! fault (about 0.8 us here): reading the densest real tile (954 KB) took 0.25 ms, mapping it
//! 0.04 ms, its pages shared with the page cache. A mapping has one danger a read has not:
//! if the file shrinks while it is mapped (another program truncates it, `cp` over it), the
//! pages past the new end are gone and touching them kills the process with SIGBUS. So a
//! file is mapped only under a read lease (`fcntl(F_SETLEASE, F_RDLCK)`): while the lease
//! is held, the kernel makes any other opening of the file for writing or truncation wait
//! (up to `/proc/sys/fs/lease-break-time`, 45 s by default) until the lease is given back,
//! which happens when the bytes are dropped, after the mapping is gone. The kernel tells the
//! holder a lease is wanted by a signal chosen with `F_SETSIG`: SIGURG, which a process
//! ignores unless it asks for it (SIGIO, the default, would end it). Where the lease is not
//! granted (the file is open for writing somewhere, belongs to another user, lives on a file
//! system without leases), and on other systems than Linux on x86-64 or AArch64, the file
//! is read.
//!
//! Renaming another file over the tile (as every store in this crate writes) or removing it
//! leaves the mapped file as it was, and is not delayed.
//!
//! A mapping also spares memory where a damaged store holds a huge file: a 4 GB tile file of
//! garbage was read whole into memory; mapped, it costs address space, and the decoder stops
//! at its first bytes (7 MB resident for the whole `render`).

use std::fs::File;
use std::ops::Deref;

pub use mapping::Mapped;

/// Files at least this long are mapped when they can be: below, reading takes at most a few
/// pages and mapping saves little.
const MAP_FROM: u64 = 64 * 1024;

/// A stored tile's bytes: owned, or a tile file mapped into memory under a read lease (see
/// [`TileStore::get_bytes`](crate::TileStore::get_bytes)). Dereferences to the bytes.
#[derive(Debug)]
pub enum TileBytes {
    /// Bytes in memory of their own.
    Owned(Vec<u8>),
    /// A file mapped read-only, which cannot shrink while this lives.
    Mapped(Mapped),
}

impl TileBytes {
    /// Whether the bytes are a mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(self, TileBytes::Mapped(_))
    }

    /// The bytes as a vector: moved out when owned, copied when mapped.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            TileBytes::Owned(v) => v,
            TileBytes::Mapped(m) => m.to_vec(),
        }
    }
}

impl Deref for TileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            TileBytes::Owned(v) => v,
            TileBytes::Mapped(m) => m,
        }
    }
}

impl From<Vec<u8>> for TileBytes {
    fn from(v: Vec<u8>) -> TileBytes {
        TileBytes::Owned(v)
    }
}

/// `file` (of `len` bytes when it was opened) mapped, when it is long enough and a read lease
/// on it is granted; otherwise the file back, to be read.
pub(crate) fn map(file: File, len: u64) -> Result<Mapped, File> {
    if len < MAP_FROM {
        return Err(file);
    }
    mapping::leased_map(file, len)
}

/// Mapping under a lease, where the kernel's numbers for it are known.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[allow(unsafe_code)]
mod mapping {
    use std::fs::File;
    use std::os::fd::AsRawFd;

    /// A file mapped read-only while a read lease on it is held.
    #[derive(Debug)]
    pub struct Mapped {
        // Dropped in this order: the mapping, then the file, whose closing gives the lease
        // back.
        map: memmap2::Mmap,
        _file: File,
    }

    impl std::ops::Deref for Mapped {
        type Target = [u8];

        fn deref(&self) -> &[u8] {
            &self.map
        }
    }

    /// `fcntl` command choosing the signal of a lease break: Linux's `F_SETSIG`, 10 in
    /// asm-generic/fcntl.h, which x86-64 and AArch64 use (a few other architectures number
    /// it otherwise; they read). The libc crate does not name it.
    const F_SETSIG: libc::c_int = 10;

    /// Takes a read lease on `file` and maps its `len` bytes; the file back (without the
    /// lease) when either cannot be done or the file no longer has `len` bytes.
    pub(super) fn leased_map(file: File, len: u64) -> Result<Mapped, File> {
        let fd = file.as_raw_fd();
        let Ok(size) = usize::try_from(len) else {
            return Err(file);
        };
        // SAFETY: fcntl with integer arguments on a descriptor this function owns (through
        // `file`) reads and writes no memory of ours.
        let signal = unsafe { libc::fcntl(fd, F_SETSIG, libc::SIGURG) };
        // SAFETY: as above.
        if signal != 0 || unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) } != 0 {
            return Err(file);
        }
        let unlease = |file: File| {
            // SAFETY: as above. Failing only leaves the lease until the file is closed.
            unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
            file
        };
        // Under the lease the length can no longer change; it may have before.
        if !file.metadata().is_ok_and(|m| m.len() == len) {
            return Err(unlease(file));
        }
        // SAFETY: memmap2 asks that the file not change while mapped. The read lease held
        // until the mapping is dropped (the file is dropped after it) makes every open of
        // the file for writing and every truncation wait, so the mapped pages stay the
        // file's (module documentation; a writer that waits out the lease-break time, 45 s
        // by default, would have a render hold one tile that long). The mapping is
        // read-only.
        match unsafe { memmap2::MmapOptions::new().len(size).map(&file) } {
            Ok(map) => Ok(Mapped { map, _file: file }),
            Err(_) => Err(unlease(file)),
        }
    }
}

/// Elsewhere nothing is mapped: every file is read.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod mapping {
    use std::fs::File;

    /// A mapped file: never made on this system.
    #[derive(Debug)]
    pub struct Mapped(std::convert::Infallible);

    impl std::ops::Deref for Mapped {
        type Target = [u8];

        fn deref(&self) -> &[u8] {
            match self.0 {}
        }
    }

    pub(super) fn leased_map(file: File, _len: u64) -> Result<Mapped, File> {
        Err(file)
    }
}
