//! The predicates on property values: image type, organizations, creator ids, compass
//! ranges and map-feature class patterns.

use std::str::FromStr;

use super::parse_error;
use crate::error::{Error, Result};
use crate::records::normalize_angle;

/// Panoramas, flat images, or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ImageType {
    /// Every feature, whatever its `is_pano` (the default).
    #[default]
    All,
    /// `is_pano` true.
    Pano,
    /// `is_pano` false (an unknown `is_pano` matches neither `Pano` nor `Flat`).
    Flat,
}

impl FromStr for ImageType {
    type Err = Error;

    fn from_str(s: &str) -> Result<ImageType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(ImageType::All),
            "pano" | "panorama" | "panoramas" | "360" => Ok(ImageType::Pano),
            "flat" | "regular" | "perspective" => Ok(ImageType::Flat),
            _ => Err(parse_error(
                "image type",
                s,
                "unknown image type",
                "`all`, `pano` or `flat`",
            )),
        }
    }
}

/// Organization ids; `none` stands for features without an `organization_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Organizations {
    /// The ids that match.
    pub ids: Vec<u64>,
    /// Whether features without a (readable) organization id match.
    pub none: bool,
}

impl FromStr for Organizations {
    type Err = Error;

    /// `123,456`, `none`, `none,123`.
    fn from_str(input: &str) -> Result<Organizations> {
        const FORMS: &str =
            "comma-separated organization ids and/or `none`, such as `1805883732926354,none`";
        let mut orgs = Organizations::default();
        for part in input.split(',').map(str::trim) {
            if part.eq_ignore_ascii_case("none") {
                orgs.none = true;
            } else {
                orgs.ids.push(part.parse().map_err(|_| {
                    parse_error(
                        "organization list",
                        input,
                        format!("{part:?} is not an id"),
                        FORMS,
                    )
                })?);
            }
        }
        Ok(orgs)
    }
}

/// Parses comma-separated ids (creators), exact `u64`s.
///
/// # Errors
///
/// [`Error::Parse`] naming the item that is not an id.
pub fn parse_ids(input: &str) -> Result<Vec<u64>> {
    input
        .split(',')
        .map(str::trim)
        .map(|p| {
            p.parse().map_err(|_| {
                parse_error(
                    "id list",
                    input,
                    format!("{p:?} is not an id"),
                    "comma-separated non-negative integers, such as `102345,2938475`",
                )
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Compass

/// A compass range in degrees, both ends inclusive, going clockwise from `from` to `to`:
/// `350..10` wraps through north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompassRange {
    from: f64,
    to: f64,
}

impl CompassRange {
    /// The range clockwise from `from` to `to`, both normalised to [0, 360).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] if either is not finite.
    pub fn new(from: f64, to: f64) -> Result<CompassRange> {
        if !from.is_finite() || !to.is_finite() {
            return Err(parse_error(
                "compass range",
                &format!("{from}..{to}"),
                "an angle is not a finite number",
                COMPASS_FORMS,
            ));
        }
        Ok(CompassRange {
            from: normalize_angle(from),
            to: normalize_angle(to),
        })
    }

    /// The start, in [0, 360).
    pub fn from(&self) -> f64 {
        self.from
    }

    /// The end, in [0, 360).
    pub fn to(&self) -> f64 {
        self.to
    }

    /// Whether the (normalised) angle lies in the range.
    pub fn contains(&self, angle: f64) -> bool {
        let a = normalize_angle(angle);
        if self.from <= self.to {
            self.from <= a && a <= self.to
        } else {
            a >= self.from || a <= self.to
        }
    }
}

const COMPASS_FORMS: &str = "`FROM..TO` in degrees, clockwise, such as `80..100` or `350..10`";

impl FromStr for CompassRange {
    type Err = Error;

    fn from_str(input: &str) -> Result<CompassRange> {
        let err = |r: String| parse_error("compass range", input, r, COMPASS_FORMS);
        let (a, b) = input
            .split_once("..")
            .ok_or_else(|| err("there is no `..`".into()))?;
        let num = |p: &str| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(format!("{:?} is not a number", p.trim())))
        };
        CompassRange::new(num(a)?, num(b)?)
    }
}

// ---------------------------------------------------------------------------------------
// Classes

/// A map-feature class pattern: an exact name, or a pattern where `*` stands for any run of
/// characters (`regulatory--*`, `*--g1`, `warning--*-curve--*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassPattern(String);

impl ClassPattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `class` matches: exact unless the pattern has `*`.
    pub fn matches(&self, class: &str) -> bool {
        glob(self.0.as_bytes(), class.as_bytes())
    }
}

/// `*` matches any run; everything else literally. Greedy with backtracking to the last star:
/// O(pattern * text) at worst.
fn glob(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

impl FromStr for ClassPattern {
    type Err = Error;

    fn from_str(input: &str) -> Result<ClassPattern> {
        let s = input.trim();
        if s.is_empty() || s.contains(char::is_whitespace) || s.contains(',') {
            return Err(parse_error(
                "class pattern",
                input,
                "a class is one word without spaces or commas",
                "a class such as `regulatory--stop--g1`, or a pattern with `*` such as `regulatory--*`",
            ));
        }
        Ok(ClassPattern(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compass_ranges_wrap_through_north() {
        let r: CompassRange = "350..10".parse().unwrap();
        assert!(r.contains(355.0) && r.contains(5.0) && r.contains(350.0) && r.contains(10.0));
        assert!(r.contains(0.0) && r.contains(361.39));
        assert!(!r.contains(180.0) && !r.contains(11.0) && !r.contains(349.0));
        let r: CompassRange = "80..100".parse().unwrap();
        assert!(r.contains(90.0) && !r.contains(0.0) && !r.contains(270.0));
        let r: CompassRange = "-10..370".parse().unwrap();
        assert_eq!((r.from(), r.to()), (350.0, 10.0));
        for bad in ["10", "a..b", "1..inf", ""] {
            let e = bad.parse::<CompassRange>().unwrap_err().to_string();
            assert!(e.contains("`FROM..TO`"), "{e}");
        }
    }

    #[test]
    fn class_patterns() {
        let p = |s: &str| s.parse::<ClassPattern>().unwrap();
        assert!(p("regulatory--*").matches("regulatory--no-stopping--g1"));
        assert!(!p("regulatory--*").matches("warning--curve-left--g1"));
        assert!(p("regulatory--stop--g1").matches("regulatory--stop--g1"));
        assert!(!p("regulatory--stop--g1").matches("regulatory--stop--g10"));
        assert!(p("*").matches(""));
        assert!(p("*--g1").matches("regulatory--stop--g1"));
        assert!(p("warning--*-curve--*").matches("warning--double-curve--g2"));
        assert!(!p("warning--*-curve--*").matches("warning--curve--g2"));
        assert!(p("a*b*c").matches("aXXbYYbc"));
        assert!("".parse::<ClassPattern>().is_err());
        assert!("a b".parse::<ClassPattern>().is_err());
    }

    #[test]
    fn organizations_image_types_ids() {
        let o: Organizations = "12, none ,18446744073709551615".parse().unwrap();
        assert_eq!(o.ids, [12, u64::MAX]);
        assert!(o.none);
        let e = "12,x".parse::<Organizations>().unwrap_err().to_string();
        assert!(
            e.contains("\"x\" is not an id") && e.contains("none"),
            "{e}"
        );
        assert_eq!("PANO".parse::<ImageType>().unwrap(), ImageType::Pano);
        assert_eq!("flat".parse::<ImageType>().unwrap(), ImageType::Flat);
        assert_eq!("all".parse::<ImageType>().unwrap(), ImageType::All);
        assert!("spherical".parse::<ImageType>().is_err());
        assert_eq!(
            parse_ids("9007199254740993").unwrap(),
            [9_007_199_254_740_993]
        );
        assert!(parse_ids("1,-2").is_err());
    }
}
