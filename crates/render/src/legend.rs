//! The legend: what the colours mean, in DejaVu Sans (bundled by the `dejavu` crate; nothing
//! is fetched at run time), rasterized with fontdue.

use std::sync::OnceLock;

use tiny_skia::Pixmap;

use crate::raster::{mul255, premultiply};
use crate::style::{MARKER_CLASSES, OTHER_MARKER};
use crate::{Error, Result, Style};

fn font() -> Result<&'static fontdue::Font> {
    static FONT: OnceLock<Result<fontdue::Font, String>> = OnceLock::new();
    FONT.get_or_init(|| {
        fontdue::Font::from_bytes(dejavu::sans::regular(), fontdue::FontSettings::default())
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::Font(e.clone()))
}

/// The legend's entries: (swatch colour, label).
fn entries(style: Style, markers: bool) -> Vec<([u8; 4], String)> {
    let mut out: Vec<([u8; 4], String)> = match style {
        Style::Density => [
            ([68, 1, 84, 160], "1 image per pixel"),
            ([33, 145, 140, 210], "about 10"),
            ([253, 231, 37, 255], "100 or more"),
        ]
        .into_iter()
        .map(|(c, l)| (c, l.to_string()))
        .collect(),
        Style::Organization(id) | Style::Creator(id) => {
            let c = style.classes();
            let who = if matches!(style, Style::Organization(_)) {
                "organization"
            } else {
                "creator"
            };
            vec![
                (c[1].1, format!("{who} {id}")),
                (c[0].1, "others".to_string()),
            ]
        }
        _ => style
            .classes()
            .iter()
            .rev()
            .map(|(l, c)| (*c, (*l).to_string()))
            .collect(),
    };
    if markers {
        out.extend(
            MARKER_CLASSES
                .iter()
                .map(|(p, c)| (*c, format!("{p} (map feature)"))),
        );
        out.push((OTHER_MARKER, "other map features".to_string()));
    }
    out
}

/// A legend image: a title with the style's name, then one colour swatch and label per
/// colour, on a translucent white card.
///
/// # Errors
///
/// [`Error::Font`] if the bundled font cannot be read.
pub(crate) fn legend_pixmap(style: Style, markers: bool) -> Result<Pixmap> {
    let font = font()?;
    let size = 13.0f32;
    let line_h = 18u32;
    let title = format!("Mapillary coverage: {style}");
    let items = entries(style, markers);
    let text_w = |s: &str| -> f32 { s.chars().map(|c| font.metrics(c, size).advance_width).sum() };
    let mut w = text_w(&title);
    for (_, l) in &items {
        w = w.max(22.0 + text_w(l));
    }
    let width = w.ceil() as u32 + 16;
    let height = line_h * (items.len() as u32 + 1) + 10;
    let mut pm = Pixmap::new(width, height).ok_or_else(|| Error::Font("legend size".into()))?;
    let card = premultiply([255, 255, 255, 220]);
    for px in pm.data_mut().chunks_exact_mut(4) {
        px.copy_from_slice(&card);
    }
    draw_text(&mut pm, font, &title, 8.0, 5.0, size);
    for (i, (colour, label)) in items.iter().enumerate() {
        let top = 5 + line_h * (i as u32 + 1);
        fill_rect(&mut pm, 8, top + 3, 14, 10, *colour);
        draw_text(&mut pm, font, label, 30.0, top as f32, size);
    }
    Ok(pm)
}

/// Draws the legend into the top-left corner of `pixmap` (8 px in).
///
/// # Errors
///
/// [`Error::Font`] if the bundled font cannot be read.
pub fn draw_legend(pixmap: &mut Pixmap, style: Style, markers: bool) -> Result<()> {
    let legend = legend_pixmap(style, markers)?;
    pixmap.draw_pixmap(
        8,
        8,
        legend.as_ref(),
        &tiny_skia::PixmapPaint::default(),
        tiny_skia::Transform::identity(),
        None,
    );
    Ok(())
}

fn blend(pm: &mut Pixmap, x: i32, y: i32, colour: [u8; 4], cov: u8) {
    if x < 0 || y < 0 || x >= pm.width() as i32 || y >= pm.height() as i32 || cov == 0 {
        return;
    }
    let w = pm.width() as usize;
    let i = (y as usize * w + x as usize) * 4;
    let a = mul255(colour[3], cov);
    let src = premultiply([colour[0], colour[1], colour[2], a]);
    let d = &mut pm.data_mut()[i..i + 4];
    let inv = 255 - a;
    for k in 0..4 {
        d[k] = src[k].saturating_add(mul255(d[k], inv));
    }
}

fn fill_rect(pm: &mut Pixmap, x: u32, y: u32, w: u32, h: u32, colour: [u8; 4]) {
    for j in y..y + h {
        for i in x..x + w {
            blend(pm, i as i32, j as i32, colour, 255);
        }
    }
}

fn draw_text(pm: &mut Pixmap, font: &fontdue::Font, text: &str, x: f32, top: f32, size: f32) {
    let ascent = font
        .horizontal_line_metrics(size)
        .map_or(size * 0.8, |m| m.ascent);
    let baseline = top + ascent;
    let mut pen = x;
    for c in text.chars() {
        let (m, bitmap) = font.rasterize(c, size);
        let gx = (pen + m.xmin as f32).round() as i32;
        let gy = (baseline - m.height as f32 - m.ymin as f32).round() as i32;
        for j in 0..m.height {
            for i in 0..m.width {
                blend(
                    pm,
                    gx + i as i32,
                    gy + j as i32,
                    [30, 30, 30, 255],
                    bitmap[j * m.width + i],
                );
            }
        }
        pen += m.advance_width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legend_has_text_pixels_and_swatches() {
        let pm = legend_pixmap(Style::Age, false).unwrap();
        // Dark text pixels exist.
        let dark = pm
            .data()
            .chunks_exact(4)
            .filter(|p| p[3] > 200 && p[0] < 100 && p[1] < 100)
            .count();
        assert!(dark > 50, "{dark} dark pixels");
        // The first swatch (under 1 year, Mapillary green) is where it is drawn.
        let w = pm.width() as usize;
        let i = ((5 + 18 + 8) * w + 12) * 4;
        assert_eq!(&pm.data()[i..i + 3], &[5, 203, 99]);
    }

    /// The smallest CIEDE2000 difference allowed between two colours of one map. About 2 is
    /// "just noticeable" side by side; map symbols are small and apart, so classes need far
    /// more than that to be told apart at a glance.
    const MIN_DELTA_E: f32 = 15.0;

    /// CIEDE2000 between two straight sRGB colours (alpha left out: it only fades a colour
    /// towards whatever is under it).
    fn delta_e(a: [u8; 4], b: [u8; 4]) -> f32 {
        use palette::color_difference::Ciede2000;
        use palette::{FromColor, Lab, Srgb};
        let lab = |c: [u8; 4]| -> Lab {
            Lab::from_color(
                Srgb::new(c[0], c[1], c[2])
                    .into_format::<f32>()
                    .into_linear(),
            )
        };
        lab(a).difference(lab(b))
    }

    /// Every colour that can appear on one map (the style's classes and, with `--markers`, every
    /// marker colour: the legend lists exactly these) differs from every other by at least
    /// [`MIN_DELTA_E`]. Regression: the pano style's panoramas (`#2D6CFF`) were the blue of
    /// information signs (`#2F80ED`).
    #[test]
    fn colours_on_one_map_are_far_apart() {
        let mut styles: Vec<Style> = Style::NAMES.iter().map(|n| n.parse().unwrap()).collect();
        styles.extend([Style::Organization(1), Style::Creator(1)]);
        let mut close = Vec::new();
        for style in styles {
            let items = entries(style, true);
            for (i, (a, la)) in items.iter().enumerate() {
                for (b, lb) in &items[i + 1..] {
                    let d = delta_e(*a, *b);
                    if d < MIN_DELTA_E {
                        close.push(format!("{style}: {la} {a:?} ~ {lb} {b:?}: {d:.1}"));
                    }
                }
            }
        }
        assert!(
            close.is_empty(),
            "colours too close (CIEDE2000 < {MIN_DELTA_E}):\n{}",
            close.join("\n")
        );
    }

    /// The measure behaves as CIEDE2000 does: zero for one colour, 100 from black to white, and
    /// about 86.6 from sRGB red to green (where CIE76 would say 170.6).
    #[test]
    fn delta_e_is_ciede2000() {
        assert_eq!(delta_e([10, 20, 30, 255], [10, 20, 30, 255]), 0.0);
        let d = delta_e([0, 0, 0, 255], [255, 255, 255, 255]);
        assert!((d - 100.0).abs() < 0.1, "{d}");
        // Pure red and pure green in sRGB: 86.6 by CIEDE2000 (CIE76 gives 170.6).
        let d = delta_e([255, 0, 0, 255], [0, 255, 0, 255]);
        assert!((d - 86.6).abs() < 0.5, "{d}");
    }
}
