//! vtzero, Mapbox's C++ zero-copy vector tile decoder, walked the way mlytiles' decode bench
//! walks tiles (see `shim.cpp`), so the bench can time it beside the Rust decoders.
//!
//! Built with the `vtzero` feature and vtzero's headers at hand (see `build.rs`), [`Vtzero::load`]
//! gives the walks; otherwise it says what is missing and how to get it.

use std::ffi::{c_char, c_int};

#[cfg(vtzero_built)]
unsafe extern "C" {
    fn mlytiles_vtzero_full(
        data: *const u8,
        len: usize,
        out: *mut i64,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    fn mlytiles_vtzero_geometry(
        data: *const u8,
        len: usize,
        out: *mut i64,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    fn mlytiles_vtzero_scan(
        data: *const u8,
        len: usize,
        out: *mut i64,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
}

/// The shim's entry points share one signature: tile bytes in, results in `out`, 0 on success,
/// else the exception's text in `err`.
type Walk = unsafe extern "C" fn(*const u8, usize, *mut i64, *mut c_char, usize) -> c_int;

/// Proof that the shim was compiled in; its methods run vtzero over one tile.
#[derive(Debug, Clone, Copy)]
pub struct Vtzero(());

impl Vtzero {
    /// The walks, or why they are not here (the feature is off, or the headers were missing
    /// when the crate was built) and how to get them.
    pub fn load() -> Result<Vtzero, &'static str> {
        #[cfg(vtzero_built)]
        return Ok(Vtzero(()));
        #[cfg(not(vtzero_built))]
        return Err(env!("MLYTILES_VTZERO_MISSING"));
    }

    /// Every layer, feature, property key and value, and vertex: the sum of `x ^ y` over the
    /// vertices plus `key length ^ value bits ^ string length` over the properties.
    ///
    /// # Errors
    ///
    /// vtzero's exception message, when it refuses the tile.
    pub fn full(self, tile: &[u8]) -> Result<i64, String> {
        let mut out = [0i64; 2];
        self.call(Self::entry(Entry::Full), tile, &mut out)?;
        Ok(out[0])
    }

    /// Every vertex of every feature, no properties: the sum of `x ^ y`.
    ///
    /// # Errors
    ///
    /// vtzero's exception message, when it refuses the tile.
    pub fn geometry(self, tile: &[u8]) -> Result<i64, String> {
        let mut out = [0i64; 2];
        self.call(Self::entry(Entry::Geometry), tile, &mut out)?;
        Ok(out[0])
    }

    /// Layer names and feature counts only: the number of features and the names' total
    /// length.
    ///
    /// # Errors
    ///
    /// vtzero's exception message, when it refuses the tile.
    pub fn scan(self, tile: &[u8]) -> Result<(usize, usize), String> {
        let mut out = [0i64; 2];
        self.call(Self::entry(Entry::Scan), tile, &mut out)?;
        Ok((out[0] as usize, out[1] as usize))
    }

    #[cfg(vtzero_built)]
    fn entry(which: Entry) -> Walk {
        match which {
            Entry::Full => mlytiles_vtzero_full,
            Entry::Geometry => mlytiles_vtzero_geometry,
            Entry::Scan => mlytiles_vtzero_scan,
        }
    }

    #[cfg(not(vtzero_built))]
    fn entry(_: Entry) -> Walk {
        unreachable!("a Vtzero exists only when the shim was built")
    }

    fn call(self, walk: Walk, tile: &[u8], out: &mut [i64; 2]) -> Result<(), String> {
        let mut err = [0 as c_char; 256];
        // SAFETY: `tile` is valid for `tile.len()` bytes and only read; `out` holds the two
        // i64s the scan writes (the others write one); `err` is writable for its length and
        // the shim writes at most that many bytes, NUL included. The shim catches every C++
        // exception, so nothing unwinds across the boundary.
        let code = unsafe {
            walk(
                tile.as_ptr(),
                tile.len(),
                out.as_mut_ptr(),
                err.as_mut_ptr(),
                err.len(),
            )
        };
        if code == 0 {
            Ok(())
        } else {
            let bytes: Vec<u8> = err
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            Err(format!("vtzero: {}", String::from_utf8_lossy(&bytes)))
        }
    }
}

#[derive(Clone, Copy)]
enum Entry {
    Full,
    Geometry,
    Scan,
}

#[cfg(test)]
mod tests {
    use super::Vtzero;

    /// The project's small sample tile: a `sequence` layer of 5 LineStrings and an `image`
    /// layer of 41 Points (fixtures/README.md).
    #[cfg(vtzero_built)]
    const SAMPLE: &[u8] = include_bytes!("../../../fixtures/sample/14/3251/6257.mvt");

    #[test]
    #[cfg(vtzero_built)]
    fn scan_counts_the_sample_tiles_features_and_layer_names() {
        let vtzero = Vtzero::load().unwrap();
        assert_eq!(
            vtzero.scan(SAMPLE),
            Ok((46, "sequence".len() + "image".len()))
        );
        assert_ne!(vtzero.geometry(SAMPLE), Ok(0));
        assert_ne!(vtzero.full(SAMPLE), vtzero.geometry(SAMPLE));
    }

    #[test]
    #[cfg(vtzero_built)]
    fn a_broken_tile_is_an_error_with_vtzeros_reason() {
        let vtzero = Vtzero::load().unwrap();
        // Field 3 (layers), length 50, but only 2 bytes follow.
        let err = vtzero.full(&[0x1a, 50, 1, 2]).unwrap_err();
        assert!(
            err.starts_with("vtzero: ") && err.len() > "vtzero: ".len(),
            "{err}"
        );
    }

    #[test]
    #[cfg(not(vtzero_built))]
    fn without_the_shim_load_says_how_to_get_it() {
        let why = Vtzero::load().unwrap_err();
        assert!(why.contains("vtzero"), "{why}");
    }
}
