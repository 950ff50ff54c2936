//! The columns each layer exports, and the values of one record in those columns: one list
//! that GeoJSON properties, CSV columns and GeoPackage tables all follow.

use chrono::{DateTime, SecondsFormat};

use crate::kind::LayerKind;
use crate::records::Record;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// An exact `u64` id.
    Id,
    /// A time in UTC milliseconds since 1970.
    Ms,
    /// The same time as ISO 8601 UTC text, `2021-06-12T10:22:03.123Z`.
    Iso,
    /// A float.
    Float,
    /// Text (sequence keys, map-feature classes).
    Text,
    /// A boolean.
    Bool,
}

/// A column: its name and what it holds.
pub(crate) type Column = (&'static str, ColumnType);

use ColumnType::{Bool, Float, Id, Iso, Ms, Text};

const OVERVIEW: &[Column] = &[
    ("id", Id),
    ("captured_at", Ms),
    ("captured_at_iso", Iso),
    ("creator_id", Id),
    ("sequence_id", Text),
    ("is_pano", Bool),
];

const SEQUENCE: &[Column] = &[
    ("id", Text),
    ("image_id", Id),
    ("captured_at", Ms),
    ("captured_at_iso", Iso),
    ("creator_id", Id),
    ("organization_id", Id),
    ("is_pano", Bool),
];

const IMAGE: &[Column] = &[
    ("id", Id),
    ("captured_at", Ms),
    ("captured_at_iso", Iso),
    ("compass_angle", Float),
    ("creator_id", Id),
    ("organization_id", Id),
    ("sequence_id", Text),
    ("is_pano", Bool),
];

const MAP_FEATURE: &[Column] = &[
    ("id", Id),
    ("value", Text),
    ("first_seen_at", Ms),
    ("first_seen_at_iso", Iso),
    ("last_seen_at", Ms),
    ("last_seen_at_iso", Iso),
];

/// The columns of a layer's records, in the order they are written.
pub(crate) fn columns(kind: LayerKind) -> &'static [Column] {
    match kind {
        LayerKind::Overview => OVERVIEW,
        LayerKind::Sequence => SEQUENCE,
        LayerKind::Image => IMAGE,
        LayerKind::Point | LayerKind::TrafficSign => MAP_FEATURE,
    }
}

/// Every column name of every layer, in the order CSV writes them.
pub(crate) const CSV_ORDER: [&str; 14] = [
    "id",
    "captured_at",
    "captured_at_iso",
    "compass_angle",
    "creator_id",
    "organization_id",
    "sequence_id",
    "image_id",
    "is_pano",
    "value",
    "first_seen_at",
    "first_seen_at_iso",
    "last_seen_at",
    "last_seen_at_iso",
];

/// One field value of a record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field<'a> {
    Id(u64),
    Ms(i64),
    /// The ISO 8601 text of a time in ms (see [`iso`]).
    Iso(i64),
    Float(f64),
    Str(&'a str),
    Bool(bool),
}

/// `t` (UTC ms) as ISO 8601 UTC text with milliseconds, or `None` outside chrono's range.
pub(crate) fn iso(t: i64) -> Option<String> {
    DateTime::from_timestamp_millis(t).map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Calls `f` with the known fields of a record, in the order of [`columns`]; unknown ones
/// (absent, unreadable, a time of 0 or outside the dates ISO 8601 text can hold) are left out.
/// Each time comes twice: in ms, then as text under the `_iso` name.
pub(crate) fn fields<'a, E>(
    record: &Record<'a>,
    mut f: impl FnMut(&'static str, Field<'a>) -> Result<(), E>,
) -> Result<(), E> {
    let ms = |t: i64| (t != 0 && iso(t).is_some()).then_some(Field::Ms(t));
    let list: [(&'static str, Option<Field<'a>>); 7] = match *record {
        Record::Overview(r) => [
            ("id", r.id.map(Field::Id)),
            ("captured_at", ms(r.captured_at)),
            ("creator_id", r.creator_id.map(Field::Id)),
            ("sequence_id", r.sequence_id.map(Field::Str)),
            ("is_pano", r.is_pano.map(Field::Bool)),
            ("", None),
            ("", None),
        ],
        Record::Sequence(r) => [
            ("id", r.id.map(Field::Str)),
            ("image_id", r.image_id.map(Field::Id)),
            ("captured_at", ms(r.captured_at)),
            ("creator_id", r.creator_id.map(Field::Id)),
            ("organization_id", r.organization_id.map(Field::Id)),
            ("is_pano", r.is_pano.map(Field::Bool)),
            ("", None),
        ],
        Record::Image(r) => [
            ("id", r.id.map(Field::Id)),
            ("captured_at", ms(r.captured_at)),
            ("compass_angle", r.compass_angle.map(Field::Float)),
            ("creator_id", r.creator_id.map(Field::Id)),
            ("organization_id", r.organization_id.map(Field::Id)),
            ("sequence_id", r.sequence_id.map(Field::Str)),
            ("is_pano", r.is_pano.map(Field::Bool)),
        ],
        Record::MapFeature(r) => [
            ("id", r.id.map(Field::Id)),
            ("value", r.class.map(Field::Str)),
            ("first_seen_at", ms(r.first_seen_at)),
            ("last_seen_at", ms(r.last_seen_at)),
            ("", None),
            ("", None),
            ("", None),
        ],
    };
    for (name, value) in list {
        match value {
            Some(Field::Ms(t)) => {
                f(name, Field::Ms(t))?;
                f(iso_name(name), Field::Iso(t))?;
            }
            Some(v) => f(name, v)?,
            None => {}
        }
    }
    Ok(())
}

fn iso_name(ms_name: &str) -> &'static str {
    match ms_name {
        "first_seen_at" => "first_seen_at_iso",
        "last_seen_at" => "last_seen_at_iso",
        _ => "captured_at_iso",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Image, MapFeature};

    fn names(record: &Record<'_>) -> Vec<&'static str> {
        let mut out = Vec::new();
        fields::<()>(record, |name, _| {
            out.push(name);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn full_records_give_every_column_of_their_layer_in_order() {
        let image = Record::Image(Image {
            id: Some(1),
            captured_at: 1_623_493_323_123,
            compass_angle: Some(1.0),
            creator_id: Some(2),
            organization_id: Some(3),
            sequence_id: Some("s"),
            is_pano: Some(false),
        });
        let expected: Vec<_> = columns(LayerKind::Image).iter().map(|c| c.0).collect();
        assert_eq!(names(&image), expected);
        let sign = Record::MapFeature(MapFeature {
            id: Some(1),
            class: Some("c"),
            first_seen_at: 1,
            last_seen_at: 2,
        });
        let expected: Vec<_> = columns(LayerKind::TrafficSign)
            .iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(names(&sign), expected);
        for kind in LayerKind::ALL {
            for (name, _) in columns(kind) {
                assert!(CSV_ORDER.contains(name), "{name} has no CSV place");
            }
        }
    }

    #[test]
    fn times_as_iso_text_and_unknown_times_left_out() {
        assert_eq!(iso(1_623_493_323_123).unwrap(), "2021-06-12T10:22:03.123Z");
        assert_eq!(iso(-1).unwrap(), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso(i64::MAX), None);
        let unknown = Record::MapFeature(MapFeature {
            id: None,
            class: None,
            first_seen_at: 0,
            last_seen_at: i64::MAX,
        });
        assert!(names(&unknown).is_empty());
    }
}
