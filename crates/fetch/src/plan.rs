//! Download plans: what an area needs, answered from the store.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use mlytiles_store::{TileInfo, TileStatus, TileStore};
use mlytiles_tile::TileId;

use crate::error::Result;
use crate::{Fetcher, OverviewIndex, Tileset, build_overview_index};

/// What to include in a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Request only the tiles whose last fetch failed (`--retry-failed`), not the missing
    /// ones. Default `false`: missing and failed tiles are both requested.
    pub only_failed: bool,
    /// Re-check tiles fetched before this time with conditional requests
    /// (`--refresh-older-than`). Default `None`: stored tiles are never requested again.
    pub refresh_before: Option<DateTime<Utc>>,
}

/// What fetching an area takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Tiles in the area.
    pub total: u64,
    /// Tiles stored with data.
    pub cached_data: u64,
    /// Tiles stored as empty.
    pub cached_empty: u64,
    /// Tiles whose last fetch failed (requested again).
    pub failed: u64,
    /// Tiles never fetched (requested, unless [`PlanOptions::only_failed`]).
    pub missing: u64,
    /// Stored tiles older than [`PlanOptions::refresh_before`] (re-checked).
    pub stale: u64,
    /// Missing tiles skipped because the overview index shows no point in their z13 cell.
    pub skipped_empty: u64,
    /// Fetch time of the oldest stored tile.
    pub oldest: Option<DateTime<Utc>>,
    /// Fetch time of the newest stored tile.
    pub newest: Option<DateTime<Utc>>,
    /// The tiles to request, sorted.
    pub to_request: Vec<TileId>,
    /// The tiles of `to_request` never fetched before.
    never_fetched: HashSet<TileId>,
}

impl Plan {
    /// Tiles answered from the cache (data or empty), not requested.
    pub fn cached(&self) -> u64 {
        self.cached_data + self.cached_empty - self.stale
    }

    /// Requests the plan needs (at least one per tile; retries cost more).
    pub fn requests(&self) -> u64 {
        self.to_request.len() as u64
    }

    /// Days of budget the requests take: 0 if they fit in what is left today, else today plus
    /// the full days after it.
    pub fn days(&self, daily_budget: u64, left_today: u64) -> u64 {
        let n = self.requests();
        if n <= left_today {
            return 0;
        }
        1 + (n - left_today).div_ceil(daily_budget.max(1))
    }

    /// Drops the never-fetched tiles that `keep` rejects (e.g.
    /// [`OverviewIndex::may_hold_data`](crate::OverviewIndex::may_hold_data)), counting them
    /// in [`skipped_empty`](Self::skipped_empty). Failed and stale tiles are kept.
    pub fn skip_missing(&mut self, keep: impl Fn(TileId) -> bool) {
        let before = self.to_request.len();
        let never = &self.never_fetched;
        self.to_request.retain(|t| !never.contains(t) || keep(*t));
        let dropped = (before - self.to_request.len()) as u64;
        self.skipped_empty += dropped;
        self.missing -= dropped.min(self.missing);
    }

    /// Whether the plan requests `tile` for the first time.
    pub fn is_new(&self, tile: TileId) -> bool {
        self.never_fetched.contains(&tile)
    }
}

impl Plan {
    /// Whether the overview skip ([`skip_empty_cached`](Self::skip_empty_cached),
    /// [`skip_empty_fetching`](Self::skip_empty_fetching)) applies to this plan of `tiles` from
    /// `tileset`: the tileset has the z5 `overview` layer, every tile is at z14, and something
    /// is to be requested.
    ///
    /// ```
    /// use mlytiles_fetch::{Plan, Tileset};
    /// use mlytiles_tile::TileId;
    ///
    /// let z14 = [TileId::new(14, 8185, 5447)?];
    /// let mut plan = Plan::default();
    /// plan.to_request = z14.to_vec();
    /// let coverage = Tileset::by_name("mly1_public").unwrap();
    /// let signs = Tileset::by_name("mly_map_feature_traffic_sign").unwrap();
    /// assert!(plan.overview_skip_applies(&coverage, &z14));
    /// assert!(!plan.overview_skip_applies(&signs, &z14)); // no overview layer
    /// # Ok::<(), mlytiles_tile::Error>(())
    /// ```
    pub fn overview_skip_applies(&self, tileset: &Tileset, tiles: &[TileId]) -> bool {
        tileset.has_overview() && tiles.iter().all(|t| t.z() == 14) && !self.to_request.is_empty()
    }

    /// The overview skip with what `store` holds, without any request: drops the never-fetched
    /// tiles whose z13 cell holds no image according to the cached z5 overview tiles. Returns
    /// how many z5 tiles above the plan are not cached (their areas are not skipped; a run
    /// fetches them first with [`skip_empty_fetching`](Self::skip_empty_fetching)).
    ///
    /// # Errors
    ///
    /// Store errors, or [`Error::Index`](crate::Error::Index) for a stored z5 tile that does
    /// not decode.
    ///
    /// ```
    /// use mlytiles_fetch::{PlanOptions, plan};
    /// use mlytiles_store::{MbTiles, TileRecord, TileStore, chrono::Utc};
    /// use mlytiles_tile::TileId;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = MbTiles::open(dir.path().join("mly1_public.mbtiles"))?;
    /// let tiles = [TileId::new(14, 8185, 5447)?, TileId::new(14, 8186, 5447)?];
    /// let mut the_plan = plan(&store, &tiles, &PlanOptions::default())?;
    /// // No overview tile cached: nothing is skipped, and one z5 tile is missing.
    /// assert_eq!(the_plan.skip_empty_cached(&store)?, 1);
    /// assert_eq!(the_plan.requests(), 2);
    /// // The z5 tile above them is known to be empty: neither may hold an image.
    /// store.put(TileId::new(5, 15, 10)?, &TileRecord::empty(Utc::now()))?;
    /// assert_eq!(the_plan.skip_empty_cached(&store)?, 0);
    /// assert_eq!((the_plan.requests(), the_plan.skipped_empty), (0, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn skip_empty_cached(&mut self, store: &dyn TileStore) -> Result<usize> {
        let (index, missing) = OverviewIndex::from_store(store, &self.to_request)?;
        self.skip_missing(|t| index.may_hold_data(t));
        Ok(missing.len())
    }

    /// The overview skip, fetching the z5 overview tiles `store` lacks first (a request each,
    /// stored like any tile) with [`build_overview_index`]. The plan is left as it was on an
    /// error.
    ///
    /// # Errors
    ///
    /// As [`build_overview_index`]: the stopping errors of a fetch (invalid token, budget,
    /// daily limit, stopped), store errors, a z5 tile that does not decode.
    pub async fn skip_empty_fetching(
        &mut self,
        fetcher: &Fetcher,
        tileset: &Tileset,
        store: &dyn TileStore,
    ) -> Result<()> {
        let (index, missing) = OverviewIndex::from_store(store, &self.to_request)?;
        let index = if missing.is_empty() {
            index
        } else {
            build_overview_index(fetcher, tileset, store, &self.to_request).await?
        };
        self.skip_missing(|t| index.may_hold_data(t));
        Ok(())
    }
}

/// Plans fetching `tiles` into `store`: one listing query per zoom, so a plan over 100,000
/// tiles takes a fraction of a second.
///
/// # Errors
///
/// Store errors.
pub fn plan(store: &dyn TileStore, tiles: &[TileId], options: &PlanOptions) -> Result<Plan> {
    let mut by_zoom: BTreeMap<u8, Vec<TileId>> = BTreeMap::new();
    for t in tiles {
        by_zoom.entry(t.z()).or_default().push(*t);
    }
    let mut plan = Plan::default();
    for (z, mut list) in by_zoom {
        list.sort_unstable();
        list.dedup();
        let known: HashMap<TileId, TileInfo> = store.list_info(z, None)?.into_iter().collect();
        for tile in list {
            plan.total += 1;
            let Some(info) = known.get(&tile) else {
                plan.missing += 1;
                if !options.only_failed {
                    plan.to_request.push(tile);
                    plan.never_fetched.insert(tile);
                }
                continue;
            };
            match info.status {
                TileStatus::Failed => {
                    plan.failed += 1;
                    plan.to_request.push(tile);
                    continue;
                }
                TileStatus::Data => plan.cached_data += 1,
                TileStatus::Empty => plan.cached_empty += 1,
            }
            if let Some(at) = info.fetched_at {
                plan.oldest = Some(plan.oldest.map_or(at, |o| o.min(at)));
                plan.newest = Some(plan.newest.map_or(at, |n| n.max(at)));
            }
            let stale = match (options.refresh_before, info.fetched_at) {
                (Some(before), Some(at)) => at < before,
                // Tiles written by other tools have no time: re-check them too.
                (Some(_), None) => true,
                (None, _) => false,
            };
            if stale && !options.only_failed {
                plan.stale += 1;
                plan.to_request.push(tile);
            }
        }
    }
    plan.to_request.sort_unstable();
    Ok(plan)
}
