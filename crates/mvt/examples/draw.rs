//! Draws a tile's polygons (holes included) and lines into a PNG: the example to start a
//! renderer from.
//!
//! `cargo run -p mlytiles-mvt --example draw -- [TILE.mvt] [OUT.png] [SIZE]`
//!
//! With no arguments it draws a Mapbox Streets tile of Chicago from `fixtures/` into
//! `draw.png`, 512 pixels wide. The sink asks the reader for ring types
//! (`WANTS_RING_TYPES`), so each polygon (an outer ring and the holes after it) becomes one
//! path filled even-odd, with no area computed here; polygons of a multipolygon are filled one
//! by one so that overlapping ones do not cancel out. Lines are stroked; points are left out.

use mlytiles_mvt::{GeomType, GeometrySink, RingType, Tile};
use tiny_skia::{Color, FillRule, Paint, Path, PathBuilder, Pixmap, Stroke, Transform};

/// One feature's geometry as tiny-skia paths.
#[derive(Default)]
struct Paths {
    /// The ring being read: its type is known only when it closes.
    ring: Vec<(f32, f32)>,
    /// The polygon being built: an outer ring and the holes that follow it.
    polygon: PathBuilder,
    /// The finished polygons.
    polygons: Vec<Path>,
    /// The lines of a LineString feature.
    lines: PathBuilder,
    is_polygon: bool,
}

impl Paths {
    /// Empties the paths (keeping the buffers) for a feature of `geom_type`.
    fn start(&mut self, geom_type: GeomType) {
        self.ring.clear();
        self.polygons.clear();
        self.polygon.clear();
        self.lines.clear();
        self.is_polygon = geom_type == GeomType::Polygon;
    }

    fn finish_polygon(&mut self) {
        if let Some(path) = std::mem::take(&mut self.polygon).finish() {
            self.polygons.push(path);
        }
    }
}

impl GeometrySink for Paths {
    const WANTS_RING_TYPES: bool = true;

    fn move_to(&mut self, x: i32, y: i32) {
        if self.is_polygon {
            self.ring.clear();
            self.ring.push((x as f32, y as f32));
        } else {
            self.lines.move_to(x as f32, y as f32);
        }
    }

    fn line_to(&mut self, x: i32, y: i32) {
        if self.is_polygon {
            self.ring.push((x as f32, y as f32));
        } else {
            self.lines.line_to(x as f32, y as f32);
        }
    }

    fn close_path(&mut self) {
        if !self.is_polygon {
            self.lines.close(); // a version 1 line may close
        }
    }

    fn ring_end(&mut self, ring_type: RingType) {
        match ring_type {
            RingType::Outer => self.finish_polygon(), // a new polygon starts
            RingType::Inner => {}                     // a hole of the current one
            RingType::ZeroArea => return,             // encloses nothing
        }
        let (&(x, y), rest) = self.ring.split_first().expect("a ring has points");
        self.polygon.move_to(x, y);
        for &(x, y) in rest {
            self.polygon.line_to(x, y);
        }
        self.polygon.close();
    }
}

/// A colour per layer, from a small palette.
fn colour(layer: usize, alpha: u8) -> Color {
    const PALETTE: [(u8, u8, u8); 6] = [
        (66, 133, 244),
        (52, 168, 83),
        (251, 188, 5),
        (234, 67, 53),
        (142, 36, 170),
        (0, 172, 193),
    ];
    let (r, g, b) = PALETTE[layer % PALETTE.len()];
    Color::from_rgba8(r, g, b, alpha)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().unwrap_or_else(|| {
        let dir = env!("CARGO_MANIFEST_DIR");
        format!("{dir}/../../fixtures/mvt-fixtures/real-world/chicago/13-2098-3042.mvt")
    });
    let output = args.next().unwrap_or_else(|| "draw.png".into());
    let size: u32 = args.next().map_or(Ok(512), |s| s.parse())?;

    let file = std::fs::read(&input).map_err(|e| format!("{input}: {e}"))?;
    // Tiles are often stored gzipped; this borrows the bytes when they are not.
    let bytes = mlytiles_mvt::decompress(&file, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)?;
    let tile = Tile::new(&bytes)?;

    let mut pixmap = Pixmap::new(size, size).ok_or("the size must be above 0")?;
    pixmap.fill(Color::WHITE);
    let mut paths = Paths::default();
    let mut skipped = 0;
    for (index, layer) in tile.layers().enumerate() {
        let layer = layer?;
        // Tile coordinates (0..extent, y down) to pixels.
        let scale = size as f32 / layer.extent() as f32;
        let transform = Transform::from_scale(scale, scale);
        let mut fill = Paint::default();
        fill.set_color(colour(index, 140));
        fill.anti_alias = true;
        let mut line = fill.clone();
        line.set_color(colour(index, 255));
        let stroke = Stroke {
            width: 1.5 / scale, // the transform scales the width too
            ..Stroke::default()
        };
        for feature in layer.features() {
            let Ok(feature) = feature else {
                skipped += 1;
                continue;
            };
            paths.start(feature.geom_type());
            if feature.decode_geometry(&mut paths).is_err() {
                skipped += 1; // a broken geometry: draw none of it
                continue;
            }
            paths.finish_polygon();
            for path in &paths.polygons {
                pixmap.fill_path(path, &fill, FillRule::EvenOdd, transform, None);
            }
            if let Some(path) = std::mem::take(&mut paths.lines).finish() {
                pixmap.stroke_path(&path, &line, &stroke, transform, None);
            }
        }
    }

    // The background is opaque, so every pixel is and tiny-skia's premultiplied RGBA is
    // the straight RGBA that PNG stores.
    let file = std::io::BufWriter::new(std::fs::File::create(&output)?);
    let mut encoder = png::Encoder::new(file, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixmap.data())?;
    writer.finish()?;
    println!("{input} -> {output} ({size} px, {skipped} features skipped)");
    Ok(())
}
