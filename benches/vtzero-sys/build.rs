//! With the `vtzero` feature, compiles `shim.cpp` against vtzero's headers and protozero's and
//! sets the cfg `vtzero_built`. When the headers are not found the build still succeeds (the
//! decode bench then runs its other peers) and the reason reaches the library through the
//! `MLYTILES_VTZERO_MISSING` variable, which `Vtzero::load` returns.
//!
//! - vtzero: `VTZERO_INCLUDE`, the `include` folder of a clone of
//!   <https://github.com/mapbox/vtzero> (the clone's root works too);
//! - protozero: `PROTOZERO_INCLUDE`, or else `/usr/include` (Debian's `libprotozero-dev`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(vtzero_built)");
    #[cfg(feature = "vtzero")]
    let missing = vtzero::build().err();
    #[cfg(not(feature = "vtzero"))]
    let missing = Some(
        "built without the `vtzero` feature: run `cargo bench --bench decode --features vtzero`"
            .to_string(),
    );
    match missing {
        None => println!("cargo::rustc-cfg=vtzero_built"),
        Some(why) => {
            #[cfg(feature = "vtzero")]
            println!("cargo::warning=vtzero left out of the decode bench: {why}");
            println!("cargo::rustc-env=MLYTILES_VTZERO_MISSING={why}");
        }
    }
}

#[cfg(feature = "vtzero")]
mod vtzero {
    use std::path::{Path, PathBuf};

    const HOW: &str = "get vtzero with `git clone https://github.com/mapbox/vtzero` and set \
                       VTZERO_INCLUDE to its `include` folder; get protozero with \
                       `apt-get install libprotozero-dev` (or set PROTOZERO_INCLUDE)";

    /// The folder holding `vtzero/vector_tile.hpp`.
    fn vtzero_include() -> Result<PathBuf, String> {
        let Some(dir) = std::env::var_os("VTZERO_INCLUDE") else {
            return Err(format!("VTZERO_INCLUDE is not set; {HOW}"));
        };
        let dir = PathBuf::from(dir);
        [dir.clone(), dir.join("include")]
            .into_iter()
            .find(|d| d.join("vtzero/vector_tile.hpp").is_file())
            .ok_or_else(|| {
                format!(
                    "VTZERO_INCLUDE={} holds no vtzero/vector_tile.hpp; {HOW}",
                    dir.display()
                )
            })
    }

    /// The folder holding `protozero/pbf_reader.hpp`.
    fn protozero_include() -> Result<PathBuf, String> {
        let dir = std::env::var_os("PROTOZERO_INCLUDE")
            .map_or_else(|| PathBuf::from("/usr/include"), PathBuf::from);
        if dir.join("protozero/pbf_reader.hpp").is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "protozero's headers are not in {} (no protozero/pbf_reader.hpp); {HOW}",
                dir.display()
            ))
        }
    }

    pub fn build() -> Result<(), String> {
        println!("cargo::rerun-if-changed=shim.cpp");
        println!("cargo::rerun-if-env-changed=VTZERO_INCLUDE");
        println!("cargo::rerun-if-env-changed=PROTOZERO_INCLUDE");
        let vtzero = vtzero_include()?;
        let protozero = protozero_include()?;
        for dir in [&vtzero, &protozero] {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
        // -O3 and the default target, as vtzero was measured for issue 15; NDEBUG drops
        // vtzero's and protozero's assertions, as in a release build of a C++ program.
        cc::Build::new()
            .cpp(true)
            .file(Path::new("shim.cpp"))
            .include(vtzero)
            .include(protozero)
            .std("c++14")
            .opt_level(3)
            .define("NDEBUG", None)
            .warnings(true)
            .try_compile("mlytiles_vtzero")
            .map_err(|e| format!("compiling shim.cpp failed: {e}"))
    }
}
