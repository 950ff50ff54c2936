//! The filter specification ([`Filter`], [`Predicate`]) and the parsers of its user-facing
//! forms, one module per seam: `time` (the date grammar), `values` (property values:
//! image type, organizations, ids, compass, classes) and `area` (bbox, radius, GeoJSON
//! polygons, looking at).

use std::fmt;

use crate::error::{Error, Result};
use crate::kind::LayerKind;

mod area;
mod time;
mod values;

pub use area::{Area, LookingAt};
pub use time::{DateRange, TimeBound, TimeUnit};
pub use values::{ClassPattern, CompassRange, ImageType, Organizations, parse_ids};

fn parse_error(
    what: &'static str,
    input: &str,
    reason: impl Into<String>,
    expected: &'static str,
) -> Error {
    Error::Parse {
        what,
        input: input.into(),
        reason: reason.into(),
        expected,
    }
}

/// A filter over Mapillary features: every predicate that is set must hold (AND).
///
/// A plain struct: set the fields, or parse their user-facing forms with the types'
/// `FromStr` impls. Each predicate applies to some layers only ([`Predicate::applies_to`]);
/// compiling a filter for a layer one of its predicates cannot apply to is an error
/// ([`Error::NotApplicable`]), never a silent pass.
///
/// Unknown values never match a predicate on them: a `captured_at` of 0 (or unreadable) is
/// excluded by any date range, an unknown `is_pano` by `pano` and `flat`, an unknown compass
/// angle by a compass range. The one exception is organizations: `none` matches features without
/// a readable `organization_id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Capture time range on `captured_at` (overview, sequence, image). Default `None`: any.
    pub captured: Option<DateRange>,
    /// Panoramas, flat images or all (overview, sequence, image). Default [`ImageType::All`].
    pub image_type: ImageType,
    /// Organization ids, possibly `none` (sequence, image). Default `None`: any.
    pub organizations: Option<Organizations>,
    /// Creator ids; the feature's `creator_id` must be one of them (overview, sequence,
    /// image). Default empty: any.
    pub creators: Vec<u64>,
    /// Sequence keys: `sequence_id` on overview and image, `id` on sequence. Default empty:
    /// any.
    pub sequences: Vec<String>,
    /// Compass range, wrapping through north (image). Default `None`: any.
    pub compass: Option<CompassRange>,
    /// Where the feature must lie: a point inside, a line touching (all layers; needs the tile
    /// id). Default `None`: anywhere.
    pub area: Option<Area>,
    /// Images that look at a point (image; needs the tile id). Default `None`.
    pub looking_at: Option<LookingAt>,
    /// Map feature classes; the class must match one of them (point, traffic_sign). Default
    /// empty: any.
    pub classes: Vec<ClassPattern>,
    /// Map features whose `[first_seen_at, last_seen_at]` overlaps this range (point,
    /// traffic_sign); features with either time unknown (0) are excluded. Default `None`.
    pub seen: Option<DateRange>,
}

/// The predicates of a [`Filter`], named as its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Predicate {
    /// [`Filter::captured`]
    Captured,
    /// [`Filter::image_type`]
    ImageType,
    /// [`Filter::organizations`]
    Organizations,
    /// [`Filter::creators`]
    Creators,
    /// [`Filter::sequences`]
    Sequences,
    /// [`Filter::compass`]
    Compass,
    /// [`Filter::area`]
    Area,
    /// [`Filter::looking_at`]
    LookingAt,
    /// [`Filter::classes`]
    Classes,
    /// [`Filter::seen`]
    Seen,
}

impl Predicate {
    /// The field name, such as `"compass"`.
    pub const fn name(self) -> &'static str {
        match self {
            Predicate::Captured => "captured",
            Predicate::ImageType => "image_type",
            Predicate::Organizations => "organizations",
            Predicate::Creators => "creators",
            Predicate::Sequences => "sequences",
            Predicate::Compass => "compass",
            Predicate::Area => "area",
            Predicate::LookingAt => "looking_at",
            Predicate::Classes => "classes",
            Predicate::Seen => "seen",
        }
    }

    /// The layers whose features carry what the predicate tests.
    pub const fn applies_to(self) -> &'static [LayerKind] {
        use LayerKind::*;
        match self {
            Predicate::Captured
            | Predicate::ImageType
            | Predicate::Creators
            | Predicate::Sequences => &[Overview, Sequence, Image],
            // overview points carry no organization_id.
            Predicate::Organizations => &[Sequence, Image],
            Predicate::Compass | Predicate::LookingAt => &[Image],
            Predicate::Area => &[Overview, Sequence, Image, Point, TrafficSign],
            Predicate::Classes | Predicate::Seen => &[Point, TrafficSign],
        }
    }

    /// Whether the predicate needs the feature's position (and so the tile id).
    pub const fn is_spatial(self) -> bool {
        matches!(self, Predicate::Area | Predicate::LookingAt)
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Filter {
    /// The predicates that are set, in field order.
    pub fn predicates(&self) -> Vec<Predicate> {
        let mut p = Vec::new();
        let mut add = |set: bool, pred| {
            if set {
                p.push(pred);
            }
        };
        add(self.captured.is_some(), Predicate::Captured);
        add(self.image_type != ImageType::All, Predicate::ImageType);
        add(self.organizations.is_some(), Predicate::Organizations);
        add(!self.creators.is_empty(), Predicate::Creators);
        add(!self.sequences.is_empty(), Predicate::Sequences);
        add(self.compass.is_some(), Predicate::Compass);
        add(self.area.is_some(), Predicate::Area);
        add(self.looking_at.is_some(), Predicate::LookingAt);
        add(!self.classes.is_empty(), Predicate::Classes);
        add(self.seen.is_some(), Predicate::Seen);
        p
    }

    /// The layers every set predicate applies to (all five for an empty filter).
    pub fn layers(&self) -> Vec<LayerKind> {
        let preds = self.predicates();
        LayerKind::ALL
            .into_iter()
            .filter(|l| preds.iter().all(|p| p.applies_to().contains(l)))
            .collect()
    }

    /// Checks that every set predicate applies to `layer`.
    ///
    /// # Errors
    ///
    /// [`Error::NotApplicable`] naming the first predicate that does not.
    pub fn check_layer(&self, layer: LayerKind) -> Result<()> {
        match self
            .predicates()
            .into_iter()
            .find(|p| !p.applies_to().contains(&layer))
        {
            None => Ok(()),
            Some(p) => Err(Error::NotApplicable {
                predicate: p.name(),
                layer,
                applies_to: p
                    .applies_to()
                    .iter()
                    .map(|l| l.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applicability() {
        let f = Filter {
            compass: Some("0..10".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(f.layers(), [LayerKind::Image]);
        let e = f.check_layer(LayerKind::Sequence).unwrap_err().to_string();
        assert_eq!(
            e,
            "the compass filter does not apply to the sequence layer (it applies to: image)"
        );
        assert!(f.check_layer(LayerKind::Image).is_ok());
        assert_eq!(Filter::default().layers(), LayerKind::ALL);
        let f = Filter {
            image_type: ImageType::Pano,
            ..Filter::default()
        };
        assert!(f.check_layer(LayerKind::TrafficSign).is_err());
        let f = Filter {
            organizations: Some("none".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(f.layers(), [LayerKind::Sequence, LayerKind::Image]);
        let f = Filter {
            classes: vec!["a".parse().unwrap()],
            seen: Some("2y".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(f.layers(), [LayerKind::Point, LayerKind::TrafficSign]);
        assert!(
            f.check_layer(LayerKind::Image)
                .unwrap_err()
                .to_string()
                .contains("classes")
        );
    }
}
