//! GDAL (what QGIS reads rasters with) places `mlytiles render`'s mosaics where the command
//! says: a PNG with its world file and coordinate-system files, and a GeoTIFF, both in
//! EPSG:3857 with the Web Mercator bounds the command printed; and a tile written as GeoTIFF
//! on the tile's square.

mod readers;

use readers::{ok, render};

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Four comma-separated numbers after `prefix` on a line of `stdout`.
fn four_after(stdout: &str, prefix: &str) -> [f64; 4] {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{stdout}"));
    let text = line.split(|c: char| c == ';' || c.is_whitespace()).next();
    let v: Vec<f64> = text
        .expect("numbers")
        .split(',')
        .map(|n| n.parse().unwrap_or_else(|_| panic!("{n:?} in {line:?}")))
        .collect();
    v.try_into().expect("four numbers")
}

/// What the command printed: the area asked for (degrees) and the image's Web Mercator bounds.
fn printed(stdout: &str) -> ([f64; 4], [f64; 4]) {
    (
        four_after(stdout, "Area "),
        four_after(stdout, "Web Mercator bounds (EPSG:3857, metres): "),
    )
}

fn gdalinfo(path: &Path) -> Value {
    let out = Command::new("gdalinfo")
        .arg("-json")
        .arg(path)
        .output()
        .expect("run gdalinfo");
    let stdout = ok(&out, "gdalinfo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "gdalinfo warned: {stderr}");
    serde_json::from_str(&stdout).expect("gdalinfo JSON")
}

/// Checks that GDAL reads the image as EPSG:3857 covering `bounds` (W,S,E,N metres) to well
/// under a pixel, and that those bounds hold the `area` asked for with less than a pixel
/// around it.
fn assert_placed(info: &Value, area: [f64; 4], bounds: [f64; 4]) {
    assert_eq!(
        info["stac"]["proj:epsg"], 3857,
        "{}",
        info["coordinateSystem"]
    );
    let wkt = info["coordinateSystem"]["wkt"].as_str().expect("wkt");
    assert!(
        wkt.contains("Pseudo-Mercator") && wkt.ends_with("ID[\"EPSG\",3857]]"),
        "{wkt}"
    );
    let gt: Vec<f64> = serde_json::from_value(info["geoTransform"].clone()).expect("transform");
    let size: Vec<f64> = serde_json::from_value(info["size"].clone()).expect("size");
    assert_eq!((gt[2], gt[4]), (0.0, 0.0), "no rotation");
    let pixel = gt[1];
    assert!(
        (gt[5] + pixel).abs() < 1e-9,
        "square pixels, north up: {gt:?}"
    );
    let read = [
        gt[0],
        gt[3] + size[1] * gt[5],
        gt[0] + size[0] * gt[1],
        gt[3],
    ];
    for (r, p) in read.iter().zip(bounds) {
        // The printed bounds have three decimals (millimetres); pixels are metres wide.
        assert!((r - p).abs() < 0.002, "GDAL {read:?} vs printed {bounds:?}");
    }
    let m = |lon: f64, lat: f64| {
        let r = 6_378_137.0;
        let y = (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
            .tan()
            .ln();
        (r * lon.to_radians(), r * y)
    };
    let (w, s) = m(area[0], area[1]);
    let (e, n) = m(area[2], area[3]);
    let margins = [w - bounds[0], s - bounds[1], bounds[2] - e, bounds[3] - n];
    // -0.001: the printed bounds are rounded to millimetres (the store's area here lies on
    // tile edges, so on pixel edges).
    assert!(
        margins.iter().all(|&d| (-0.001..pixel).contains(&d)),
        "area {area:?} in {bounds:?}: margins {margins:?} (pixel {pixel})"
    );
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn gdal_reads_a_png_mosaic_in_epsg_3857_at_the_printed_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stdout = render(dir.path(), &["--out", "area.png"]);
    let (area, bounds) = printed(&stdout);
    // A box inside the store's area whose edges fall inside pixels, not on tile edges.
    let inner = {
        let [w, s, e, n] = area;
        let (dx, dy) = ((e - w) * 0.23, (n - s) * 0.31);
        format!("{},{},{},{}", w + dx, s + dy, e - dx * 0.5, n - dy * 0.7)
    };
    let inner_out = render(
        dir.path(),
        &["--bbox", &inner, "--zoom", "15", "--out", "inner.png"],
    );
    let (inner_area, inner_bounds) = printed(&inner_out);
    assert_placed(
        &gdalinfo(&dir.path().join("inner.png")),
        inner_area,
        inner_bounds,
    );
    let info = gdalinfo(&dir.path().join("area.png"));
    let files: Vec<String> = serde_json::from_value(info["files"].clone()).expect("files");
    assert!(
        files.iter().any(|f| f.ends_with("area.pgw"))
            && files.iter().any(|f| f.ends_with("area.png.aux.xml")),
        "{files:?}"
    );
    assert_placed(&info, area, bounds);
    // The .prj, for tools that read the ESRI form, names the same system.
    let out = Command::new("gdalsrsinfo")
        .args(["-o", "epsg"])
        .arg(dir.path().join("area.prj"))
        .output()
        .expect("run gdalsrsinfo");
    assert_eq!(ok(&out, "gdalsrsinfo").trim(), "EPSG:3857");
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn gdal_reads_a_geotiff_mosaic_tiled_compressed_in_epsg_3857_at_the_printed_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stdout = render(dir.path(), &["--style", "age", "--out", "area.tif"]);
    let (area, bounds) = printed(&stdout);
    let info = gdalinfo(&dir.path().join("area.tif"));
    assert_eq!(info["driverShortName"], "GTiff");
    assert_eq!(
        info["files"],
        serde_json::json!([dir.path().join("area.tif")]),
        "nothing beside it"
    );
    assert_placed(&info, area, bounds);
    assert_eq!(info["metadata"][""]["AREA_OR_POINT"], "Area");
    assert_eq!(
        info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"],
        "DEFLATE"
    );
    let bands = info["bands"].as_array().expect("bands");
    let interp: Vec<&str> = bands
        .iter()
        .map(|b| b["colorInterpretation"].as_str().expect("interp"))
        .collect();
    assert_eq!(interp, ["Red", "Green", "Blue", "Alpha"]);
    for b in bands {
        assert_eq!(b["block"], serde_json::json!([256, 256]), "tiled: {b}");
        assert_eq!(b["type"], "Byte");
    }
    assert!(
        stdout.contains("Wrote area.tif (") && !dir.path().join("area.pgw").exists(),
        "{stdout}"
    );
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn a_geotiff_mosaic_has_the_pixels_of_the_png_mosaic() {
    let dir = tempfile::tempdir().expect("tempdir");
    // RGBA in both (the age style has several colours), same area and zoom.
    for out in ["area.png", "area.tif"] {
        render(
            dir.path(),
            &["--style", "age", "--zoom", "13", "--out", out],
        );
    }
    assert_same_pixels(dir.path(), "area.png", "area.tif");
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn gdal_reads_a_geotiff_tile_on_the_tiles_square_with_the_png_tiles_pixels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (z, x, y) = (14u32, 3251u32, 6257u32);
    let tile = format!("{z}/{x}/{y}");
    let args = ["--tile", &tile, "--style", "pano", "--legend", "--out"];
    render(dir.path(), &[&args[..], &["tile.png"]].concat());
    let stdout = render(dir.path(), &[&args[..], &["tile.tif"]].concat());
    let bounds = four_after(&stdout, "Web Mercator bounds (EPSG:3857, metres): ");
    // The tile's corners from their longitudes and latitudes (the slippy-map formulas).
    let n = f64::from(1u32 << z);
    let lon = |x: u32| f64::from(x) / n * 360.0 - 180.0;
    let lat = |y: u32| {
        let t = std::f64::consts::PI * (1.0 - 2.0 * f64::from(y) / n);
        t.sinh().atan().to_degrees()
    };
    let area = [lon(x), lat(y + 1), lon(x + 1), lat(y)];
    let info = gdalinfo(&dir.path().join("tile.tif"));
    assert_eq!(info["size"], serde_json::json!([512, 512]));
    // The tile's square lies on whole pixels: no margin beyond rounding.
    assert_placed(&info, area, bounds);
    let pixel = (bounds[2] - bounds[0]) / 512.0;
    let m = |lon: f64| 6_378_137.0 * lon.to_radians();
    for (b, want) in [(bounds[0], m(area[0])), (bounds[2], m(area[2]))] {
        assert!(
            (b - want).abs() < 0.001 && pixel > 1.0,
            "{bounds:?} vs {area:?}"
        );
    }
    assert_same_pixels(dir.path(), "tile.png", "tile.tif");
}

/// Checks that GDAL reads the GeoTIFF `tif` with the pixels of the PNG `png_name` (both in
/// `dir`), converting it to PNG with gdal_translate.
fn assert_same_pixels(dir: &Path, png_name: &str, tif: &str) {
    let out = Command::new("gdal_translate")
        .args(["-q", "-of", "PNG", tif, "from_tif.png"])
        .current_dir(dir)
        .output()
        .expect("run gdal_translate");
    ok(&out, "gdal_translate");
    let pixels = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).expect("png");
        let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
        dec.set_transformations(png::Transformations::EXPAND);
        let mut reader = dec.read_info().expect("png");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("frame");
        buf.truncate(info.buffer_size());
        (info.width, info.height, info.color_type, buf)
    };
    let (a, b) = (pixels(png_name), pixels("from_tif.png"));
    assert_eq!((a.0, a.1, a.2), (b.0, b.1, b.2), "{png_name} vs {tif}");
    assert!(
        a.3.iter().skip(3).step_by(4).any(|&v| v > 0),
        "coverage drawn"
    );
    assert!(
        a.3 == b.3,
        "the pixels of {tif} differ from those of {png_name}"
    );
}
