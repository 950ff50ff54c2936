//! Styles: what colour each feature gets.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A coverage style, parsed from and printed as the names users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Style {
    /// Everything in Mapillary's green `#05CB63` (JOSM, Rapid). The default.
    #[default]
    Mapillary,
    /// Everything in the classic coverage green `#35AF6D`.
    Classic,
    /// By capture date: under one year green, one to four years yellow, older than four years
    /// dark crimson, unknown date grey.
    Age,
    /// Panoramas in pink over flat images in green.
    Pano,
    /// Image count per pixel area on a logarithmic ramp (dark purple to yellow); lines at
    /// z6-13 count the sequences passing through a pixel.
    Density,
    /// One organization highlighted in orange over the rest in grey.
    Organization(u64),
    /// One creator highlighted in orange over the rest in grey.
    Creator(u64),
}

impl Style {
    /// The plain style names (the highlighting styles take an id: `organization:ID`,
    /// `creator:ID`).
    pub const NAMES: &'static [&'static str] = &["mapillary", "classic", "age", "pano", "density"];

    /// The colour classes the style draws with, bottom to top, as (label, straight RGBA).
    /// Features are assigned one class each; [`Style::Density`] has none (it uses a ramp).
    pub fn classes(&self) -> &'static [(&'static str, [u8; 4])] {
        match self {
            Style::Mapillary => &[("images and sequences", MAPILLARY_GREEN)],
            Style::Classic => &[("images and sequences", CLASSIC_GREEN)],
            Style::Age => &[
                ("unknown date", [0x9a, 0x9a, 0x9a, 0xff]),
                ("over 4 years", [0x82, 0x0a, 0x3c, 0xff]),
                ("1 to 4 years", [0xff, 0xd6, 0x00, 0xff]),
                ("under 1 year", MAPILLARY_GREEN),
            ],
            Style::Pano => &[
                ("flat images", MAPILLARY_GREEN),
                ("panoramas", [0xff, 0x3e, 0xb5, 0xff]),
            ],
            Style::Density => &[],
            Style::Organization(_) => &[("others", OTHERS_GREY), ("organization", HIGHLIGHT)],
            Style::Creator(_) => &[("others", OTHERS_GREY), ("creator", HIGHLIGHT)],
        }
    }
}

/// Mapillary's green, `#05CB63`.
pub const MAPILLARY_GREEN: [u8; 4] = [0x05, 0xcb, 0x63, 0xff];
/// The classic coverage green, `#35AF6D`.
pub const CLASSIC_GREEN: [u8; 4] = [0x35, 0xaf, 0x6d, 0xff];
const OTHERS_GREY: [u8; 4] = [0xbf, 0xbf, 0xbf, 0xc0];
const HIGHLIGHT: [u8; 4] = [0xff, 0x5a, 0x00, 0xff];

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Style::Mapillary => f.write_str("mapillary"),
            Style::Classic => f.write_str("classic"),
            Style::Age => f.write_str("age"),
            Style::Pano => f.write_str("pano"),
            Style::Density => f.write_str("density"),
            Style::Organization(id) => write!(f, "organization:{id}"),
            Style::Creator(id) => write!(f, "creator:{id}"),
        }
    }
}

impl FromStr for Style {
    type Err = Error;

    fn from_str(s: &str) -> Result<Style, Error> {
        let lower = s.trim().to_ascii_lowercase();
        let id = |rest: &str| {
            rest.trim()
                .parse::<u64>()
                .map_err(|_| Error::UnknownStyle(s.to_owned()))
        };
        Ok(match lower.as_str() {
            "mapillary" => Style::Mapillary,
            "classic" => Style::Classic,
            "age" => Style::Age,
            "pano" => Style::Pano,
            "density" => Style::Density,
            other => {
                if let Some(rest) = other
                    .strip_prefix("organization:")
                    .or_else(|| other.strip_prefix("org:"))
                {
                    Style::Organization(id(rest)?)
                } else if let Some(rest) = other.strip_prefix("creator:") {
                    Style::Creator(id(rest)?)
                } else {
                    return Err(Error::UnknownStyle(s.to_owned()));
                }
            }
        })
    }
}

/// Map-feature marker colours by class prefix (the part of `value` before `--`), as (prefix,
/// straight RGBA); anything else gets [`OTHER_MARKER`].
pub const MARKER_CLASSES: &[(&str, [u8; 4])] = &[
    ("regulatory", [0xd7, 0x26, 0x3d, 0xff]),
    ("warning", [0xf6, 0x9a, 0x1d, 0xff]),
    ("information", [0x2f, 0x80, 0xed, 0xff]),
    ("complementary", [0x6b, 0x6b, 0x6b, 0xff]),
    ("object", [0x8e, 0x44, 0xe8, 0xff]),
    ("marking", [0x00, 0xc8, 0xff, 0xff]),
    ("construction", [0xb5, 0x65, 0x1d, 0xff]),
];
/// The marker colour of classes whose prefix is not in [`MARKER_CLASSES`].
pub const OTHER_MARKER: [u8; 4] = [0x33, 0x33, 0x33, 0xff];

/// The marker colour index (into [`MARKER_CLASSES`], or its length for others) of a class.
pub(crate) fn marker_class(value: &str) -> usize {
    let prefix = value.split("--").next().unwrap_or("");
    MARKER_CLASSES
        .iter()
        .position(|(p, _)| *p == prefix)
        .unwrap_or(MARKER_CLASSES.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Style::NAMES {
            let s: Style = name.parse().unwrap();
            assert_eq!(s.to_string(), *name);
        }
        assert_eq!(
            "organization:42".parse::<Style>().unwrap(),
            Style::Organization(42)
        );
        assert_eq!(
            "creator:7".parse::<Style>().unwrap().to_string(),
            "creator:7"
        );
        assert!("creator:x".parse::<Style>().is_err());
        assert!("neon".parse::<Style>().is_err());
        assert_eq!(Style::default(), Style::Mapillary);
    }

    #[test]
    fn marker_prefixes() {
        assert_eq!(marker_class("regulatory--stop--g1"), 0);
        assert_eq!(marker_class("object--fire-hydrant"), 4);
        assert_eq!(marker_class("zzz"), MARKER_CLASSES.len());
    }
}
