//! Shards: `harness sweep … --shard I/N` trains only the runs assigned to shard `I` of `N`
//! (1-based, `1 ≤ I ≤ N`), so N processes — e.g. the tasks of a Slurm job array — can share one
//! sweep folder. A run's shard is its id (a hex content hash) mod `N`, so the assignment does not
//! depend on grid order or on which other runs exist. Shards never write the same file: each
//! writes its own manifest `shards/I-of-N.json` (the whole grid, in grid order) and its runs, and none builds the report
//! (`harness report DIR` merges the manifests; see [`super::files::SweepDir::read_manifest`]).

use std::fmt;
use std::path::PathBuf;

use anyhow::Result;

use super::files::SweepDir;
use crate::error::bad_input;

/// Shard `index` of `count`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` (as given to `--shard`): `N ≥ 1` and `1 ≤ I ≤ N`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = |why: String| bad_input(format!("--shard: {why}"));
        let (i, n) = text.split_once('/').ok_or_else(|| bad(format!("expected I/N (e.g. 1/4) but got {text:?}")))?;
        let number =
            |s: &str| s.trim().parse::<u64>().map_err(|_| bad(format!("expected I/N (e.g. 1/4) but got {text:?}")));
        let (index, count) = (number(i)?, number(n)?);
        if count == 0 {
            return Err(bad(format!("N must be at least 1 but got {text:?}")));
        }
        if !(1..=count).contains(&index) {
            return Err(bad(format!("I must be between 1 and {count} (shards are 1-based) but got {text:?}")));
        }
        Ok(Shard { index, count })
    }

    /// Whether the run `id` belongs to this shard.
    pub fn owns(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }

    /// This shard's manifest in `dir`.
    pub fn manifest(&self, dir: &SweepDir) -> PathBuf {
        dir.shards().join(format!("{}-of-{}.json", self.index, self.count))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The 1-based shard of run `id` among `count`: the id read as hex, mod `count` (an id that is
/// not hex, which ours never are, falls back to the sum of its bytes).
pub fn shard_of(id: &str, count: u64) -> u64 {
    let key = u64::from_str_radix(id, 16).unwrap_or_else(|_| id.bytes().map(u64::from).sum());
    key % count.max(1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_shards_and_rejects_the_rest() {
        let table: &[(&str, Option<(u64, u64)>)] = &[
            ("1/1", Some((1, 1))),
            ("2/4", Some((2, 4))),
            ("4/4", Some((4, 4))),
            ("0/4", None),
            ("5/4", None),
            ("1/0", None),
            ("1", None),
            ("a/b", None),
            ("-1/2", None),
            ("", None),
        ];
        for (text, want) in table {
            let got = Shard::parse(text).ok().map(|s| (s.index, s.count));
            assert_eq!(&got, want, "{text:?}");
        }
        let err = Shard::parse("3/2").unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
    }

    #[test]
    fn every_run_has_exactly_one_shard() {
        let ids = ["0a1b2c3d4e", "ffffffffff", "0000000000", "9e3779b97f", "not-hex"];
        for n in 1..=5 {
            for id in ids {
                let owners = (1..=n).filter(|&i| Shard { index: i, count: n }.owns(id)).count();
                assert_eq!(owners, 1, "{id} among {n}");
            }
        }
        // Pinned (python3 -c 'print(0x0a1b2c3d4e % 3)' → 1): shard 2 of 3.
        assert_eq!(shard_of("0a1b2c3d4e", 3), 2);
    }
}
