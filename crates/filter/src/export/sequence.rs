//! Merging the parts of `sequence` lines that tiles clipped at their edges.

use std::collections::HashMap;

use geo_types::{Coord, Geometry, LineString, MultiLineString};

use crate::records::Sequence;

/// A `sequence` record with owned fields, as held by a [`SequenceMerger`]: the fields of the
/// first part seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergedSequence {
    /// `id`, the sequence key.
    pub id: String,
    /// `image_id` of the first part seen.
    pub image_id: Option<u64>,
    /// `captured_at` of the first part seen, UTC ms; 0 unknown.
    pub captured_at: i64,
    /// `creator_id`.
    pub creator_id: Option<u64>,
    /// `organization_id`.
    pub organization_id: Option<u64>,
    /// `is_pano`.
    pub is_pano: Option<bool>,
}

impl MergedSequence {
    /// The borrowed record, for writing.
    pub fn record(&self) -> Sequence<'_> {
        Sequence {
            id: Some(&self.id),
            image_id: self.image_id,
            captured_at: self.captured_at,
            creator_id: self.creator_id,
            organization_id: self.organization_id,
            is_pano: self.is_pano,
        }
    }
}

/// Holds the parts of `sequence` lines by sequence `id` and joins the parts that meet.
///
/// Parts are joined when the last vertex of one is within `epsilon` degrees (in both
/// longitude and latitude) of the first vertex of another, which is how a line clipped at a
/// shared tile edge arrives from the two tiles. Sequences come out in the order their first
/// part arrived. Memory: every held vertex, until [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub struct SequenceMerger {
    epsilon: f64,
    index: HashMap<String, usize>,
    entries: Vec<(MergedSequence, Vec<Vec<Coord<f64>>>)>,
}

impl SequenceMerger {
    /// An empty merger joining end points within `epsilon` degrees.
    pub fn new(epsilon: f64) -> SequenceMerger {
        SequenceMerger {
            epsilon,
            index: HashMap::new(),
            entries: Vec::new(),
        }
    }

    /// The number of distinct sequences held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no sequence is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Holds the lines of `geometry` under the record's `id`. Returns `false`, holding
    /// nothing, for a record without an id or a geometry that is not a (multi)line.
    pub fn add(&mut self, record: &Sequence<'_>, geometry: &Geometry<f64>) -> bool {
        let Some(id) = record.id else { return false };
        let lines: Vec<Vec<Coord<f64>>> = match geometry {
            Geometry::LineString(l) => vec![l.0.clone()],
            Geometry::MultiLineString(m) => m.0.iter().map(|l| l.0.clone()).collect(),
            _ => return false,
        };
        let i = match self.index.get(id) {
            Some(&i) => i,
            None => {
                let merged = MergedSequence {
                    id: id.to_owned(),
                    image_id: record.image_id,
                    captured_at: record.captured_at,
                    creator_id: record.creator_id,
                    organization_id: record.organization_id,
                    is_pano: record.is_pano,
                };
                self.index.insert(id.to_owned(), self.entries.len());
                self.entries.push((merged, Vec::new()));
                self.entries.len() - 1
            }
        };
        self.entries[i]
            .1
            .extend(lines.into_iter().filter(|l| !l.is_empty()));
        true
    }

    /// The merged sequences, each with a LineString when its parts joined into one line and a
    /// MultiLineString otherwise: O(parts^2) per sequence.
    pub fn finish(self) -> impl Iterator<Item = (MergedSequence, Geometry<f64>)> {
        let eps = self.epsilon;
        self.entries.into_iter().map(move |(seq, parts)| {
            let mut lines = join_parts(parts, eps);
            let geometry = if lines.len() == 1 {
                Geometry::LineString(LineString(lines.pop().expect("one line")))
            } else {
                Geometry::MultiLineString(MultiLineString(
                    lines.into_iter().map(LineString).collect(),
                ))
            };
            (seq, geometry)
        })
    }
}

fn near(a: Coord<f64>, b: Coord<f64>, eps: f64) -> bool {
    (a.x - b.x).abs() <= eps && (a.y - b.y).abs() <= eps
}

/// Joins parts end to start, keeping each part's direction, in arrival order.
fn join_parts(parts: Vec<Vec<Coord<f64>>>, eps: f64) -> Vec<Vec<Coord<f64>>> {
    let mut rest: Vec<Vec<Coord<f64>>> = parts;
    rest.reverse();
    let mut out = Vec::new();
    while let Some(mut line) = rest.pop() {
        loop {
            let (first, last) = (line[0], line[line.len() - 1]);
            if let Some(i) = rest.iter().position(|p| near(last, p[0], eps)) {
                let next = rest.remove(i);
                line.extend(next.into_iter().skip(1));
            } else if let Some(i) = rest.iter().position(|p| near(p[p.len() - 1], first, eps)) {
                let mut prev = rest.remove(i);
                prev.extend(line.into_iter().skip(1));
                line = prev;
            } else {
                break;
            }
        }
        out.push(line);
    }
    out
}
