//! The sample's map-feature classes are real Mapillary class names, of the right kind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use mlytiles_synth::{POINT_CLASSES, TRAFFIC_SIGN_CLASSES};

/// `fixtures/reference/traffic_sign_values.csv`: class name -> `feat_type` (0 traffic sign,
/// 1 point feature, 2 line or area feature).
fn mapillary_classes() -> BTreeMap<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/reference/traffic_sign_values.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (part of the repository)", path.display()));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("name,feat_type,"),
        "{}: header",
        path.display()
    );
    let mut classes = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        let mut cols = line.split(',');
        let (Some(name), Some(kind)) = (cols.next(), cols.next()) else {
            panic!(
                "{} line {}: {line:?} has no feat_type",
                path.display(),
                i + 2
            );
        };
        let old = classes.insert(name.to_owned(), kind.to_owned());
        assert!(old.is_none(), "{}: {name} twice", path.display());
    }
    classes
}

/// The classes in `names` that Mapillary's list does not give with `feat_type` `kind`.
fn not_of_kind<'a>(
    classes: &BTreeMap<String, String>,
    names: &[&'a str],
    kind: &str,
) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| classes.get(*n).map(String::as_str) != Some(kind))
        .collect()
}

#[test]
fn every_traffic_sign_class_is_a_mapillary_traffic_sign() {
    let classes = mapillary_classes();
    assert_eq!(classes.len(), 1591, "the list holds 1,591 classes");
    let wrong = not_of_kind(&classes, TRAFFIC_SIGN_CLASSES, "0");
    assert!(wrong.is_empty(), "not Mapillary traffic signs: {wrong:?}");
    let distinct: BTreeSet<_> = TRAFFIC_SIGN_CLASSES.iter().collect();
    assert_eq!(distinct.len(), TRAFFIC_SIGN_CLASSES.len(), "no class twice");
}

#[test]
fn every_point_class_is_a_mapillary_point_feature() {
    let classes = mapillary_classes();
    let wrong = not_of_kind(&classes, POINT_CLASSES, "1");
    assert!(wrong.is_empty(), "not Mapillary point features: {wrong:?}");
}
