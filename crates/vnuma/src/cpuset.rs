//! Linux CPU and node lists: the `cpulist` text (`0-3,8-11`) and the hex `cpumap` mask.
//!
//! Parsing accepts what the kernel's `bitmap_parselist` accepts (ids, `a-b` ranges and the
//! `a-b:used/group` stride form), tolerates the trailing newline and NUL bytes real sysfs files
//! carry, and refuses any list that expands past [`MAX_ENTRIES`] entries (KubeVirt's own safety
//! limit), so a hostile `0-4294967295` costs nothing. Printing is exactly the kernel's: ascending,
//! runs of two or more consecutive ids as `a-b`, the empty set as the empty string.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::ids::{CpuId, Id, NodeId};

/// The most entries a parsed list may expand to (KubeVirt's limit for the pod cpuset).
pub const MAX_ENTRIES: usize = 50_000;

/// The most 32-bit words a `cpumap` may have (131072 bits, far above any kernel's NR_CPUS).
const MAX_MAP_WORDS: usize = 4096;

/// An ordered set of ids (CPUs or NUMA nodes), with the kernel's list syntax.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdSet<T: Id>(BTreeSet<T>);

/// A set of host CPUs.
pub type CpuSet = IdSet<CpuId>;
/// A set of host NUMA nodes.
pub type NodeSet = IdSet<NodeId>;

/// Why a list or map did not parse. The text itself is named by the caller, who knows the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListParseError {
    /// A piece that is not a number, a range or a stride range.
    #[error("{piece:?} is not an id or an a-b range")]
    Syntax {
        /// The offending comma-separated piece.
        piece: String,
    },
    /// A range whose end is below its start.
    #[error("range {piece:?} ends before it starts")]
    Backwards {
        /// The offending piece.
        piece: String,
    },
    /// The list would expand past [`MAX_ENTRIES`] ids (KubeVirt's wording).
    #[error("rejecting expanding CPU array for safety reasons, limit is {MAX_ENTRIES}")]
    TooLarge,
    /// A `cpumap` word that is not 1 to 8 hex digits, or too many words.
    #[error("{word:?} is not a 32-bit hex word of a cpumap")]
    MapWord {
        /// The offending word.
        word: String,
    },
}

/// Strips what sysfs files carry around the value: NUL bytes and white space.
pub fn trim_sysfs(text: &str) -> &str {
    text.trim_matches(|c: char| c == '\0' || c.is_whitespace())
}

impl<T: Id> IdSet<T> {
    /// The empty set.
    pub fn new() -> Self {
        IdSet(BTreeSet::new())
    }

    /// Parses the kernel list syntax (see the module docs).
    ///
    /// # Errors
    /// [`ListParseError`] naming the offending piece.
    pub fn parse_list(text: &str) -> Result<Self, ListParseError> {
        let mut set = BTreeSet::new();
        let text = trim_sysfs(text);
        if text.is_empty() {
            return Ok(IdSet(set));
        }
        for piece in text.split(',') {
            let piece = piece.trim();
            let syntax = || ListParseError::Syntax {
                piece: piece.to_string(),
            };
            let (range, stride) = match piece.split_once(':') {
                Some((range, stride)) => (range, Some(stride)),
                None => (piece, None),
            };
            let (lo, hi) = match range.split_once('-') {
                Some((lo, hi)) => (
                    parse_u32(lo).ok_or_else(syntax)?,
                    parse_u32(hi).ok_or_else(syntax)?,
                ),
                None if stride.is_none() => {
                    let id = parse_u32(range).ok_or_else(syntax)?;
                    (id, id)
                }
                None => return Err(syntax()),
            };
            if hi < lo {
                return Err(ListParseError::Backwards {
                    piece: piece.to_string(),
                });
            }
            let (used, group) = match stride {
                None => (1, 1),
                Some(stride) => {
                    let (used, group) = stride.split_once('/').ok_or_else(syntax)?;
                    let used = parse_u32(used).ok_or_else(syntax)?;
                    let group = parse_u32(group).ok_or_else(syntax)?;
                    if used == 0 || group == 0 || used > group {
                        return Err(syntax());
                    }
                    (used, group)
                }
            };
            let span = u64::from(hi) - u64::from(lo) + 1;
            if span > (MAX_ENTRIES as u64) * u64::from(group) {
                return Err(ListParseError::TooLarge);
            }
            for id in lo..=hi {
                if (id - lo) % group < used {
                    set.insert(T::from_raw(id));
                    if set.len() > MAX_ENTRIES {
                        return Err(ListParseError::TooLarge);
                    }
                }
            }
        }
        Ok(IdSet(set))
    }

    /// Parses the kernel list syntax keeping the order written (and any repeats), as KubeVirt
    /// expands the pod's cpuset file: `3,0-1` is `[3, 0, 1]`.
    ///
    /// # Errors
    /// [`ListParseError`] naming the offending piece; past [`MAX_ENTRIES`] entries in all,
    /// [`ListParseError::TooLarge`].
    pub fn parse_list_ordered(text: &str) -> Result<Vec<T>, ListParseError> {
        let text = trim_sysfs(text);
        let mut out = Vec::new();
        if text.is_empty() {
            return Ok(out);
        }
        for piece in text.split(',') {
            let ids = Self::parse_list(if piece.is_empty() { "," } else { piece })?;
            out.extend(ids.iter());
            if out.len() > MAX_ENTRIES {
                return Err(ListParseError::TooLarge);
            }
        }
        Ok(out)
    }

    /// Parses a `cpumap`: comma-separated 32-bit hex words, most significant first
    /// (`00000000,0000ffff`). Bit `i` of the whole mask is id `i`.
    ///
    /// # Errors
    /// [`ListParseError::MapWord`] for a word that is not hex or too long.
    pub fn parse_map(text: &str) -> Result<Self, ListParseError> {
        let text = trim_sysfs(text);
        let mut set = BTreeSet::new();
        if text.is_empty() {
            return Ok(IdSet(set));
        }
        let words: Vec<&str> = text.split(',').collect();
        if words.len() > MAX_MAP_WORDS {
            return Err(ListParseError::MapWord {
                word: format!("{} words", words.len()),
            });
        }
        for (rank, word) in words.iter().rev().enumerate() {
            let bad = || ListParseError::MapWord {
                word: (*word).to_string(),
            };
            let word = word.trim().trim_start_matches("0x");
            if word.is_empty() || word.len() > 8 || !word.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let bits = u32::from_str_radix(word, 16).map_err(|_| bad())?;
            let base = u32::try_from(rank * 32).map_err(|_| bad())?;
            for bit in 0..32 {
                if bits & (1 << bit) != 0 {
                    set.insert(T::from_raw(base + bit));
                }
            }
        }
        Ok(IdSet(set))
    }

    /// Adds one id; returns whether it was new.
    pub fn insert(&mut self, id: T) -> bool {
        self.0.insert(id)
    }

    /// Whether the id is in the set.
    pub fn contains(&self, id: T) -> bool {
        self.0.contains(&id)
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids, ascending.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = T> + '_ {
        self.0.iter().copied()
    }

    /// The ids of both sets.
    pub fn union(&self, other: &Self) -> Self {
        IdSet(self.0.union(&other.0).copied().collect())
    }

    /// The ids in both sets.
    pub fn intersection(&self, other: &Self) -> Self {
        IdSet(self.0.intersection(&other.0).copied().collect())
    }

    /// The ids of `self` that are not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        IdSet(self.0.difference(&other.0).copied().collect())
    }

    /// Whether every id of `self` is in `other`.
    pub fn is_subset(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The ids as a plain comma list without ranges (`0,1,2,3`), as KubeVirt writes cpusets in
    /// the libvirt domain.
    pub fn to_comma_list(&self) -> String {
        let ids: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        ids.join(",")
    }
}

fn parse_u32(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl<T: Id> Default for IdSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Id> FromIterator<T> for IdSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        IdSet(iter.into_iter().collect())
    }
}

impl<T: Id> FromStr for IdSet<T> {
    type Err = ListParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_list(text)
    }
}

impl<T: Id> fmt::Display for IdSet<T> {
    /// The kernel's list form: `0-3,8,10-11`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids = self.0.iter().map(|id| id.raw()).peekable();
        let mut first = true;
        while let Some(start) = ids.next() {
            let mut end = start;
            while ids.peek() == Some(&(end.wrapping_add(1))) && end != u32::MAX {
                end += 1;
                ids.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if end == start {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl<T: Id> fmt::Debug for IdSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{self}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpus(ids: &[u32]) -> CpuSet {
        ids.iter().map(|&i| CpuId(i)).collect()
    }

    #[test]
    fn parses_kernel_lists() {
        assert_eq!(
            CpuSet::parse_list("0-3,8-11"),
            Ok(cpus(&[0, 1, 2, 3, 8, 9, 10, 11]))
        );
        assert_eq!(CpuSet::parse_list("5"), Ok(cpus(&[5])));
        assert_eq!(CpuSet::parse_list(""), Ok(CpuSet::new()));
        assert_eq!(CpuSet::parse_list("0-31\n\0"), Ok((0..32).map(CpuId).collect()));
        assert_eq!(CpuSet::parse_list("\n"), Ok(CpuSet::new()));
        // written out of order and with duplicates, as a user might
        assert_eq!(CpuSet::parse_list("9,2-3,3"), Ok(cpus(&[2, 3, 9])));
        // the kernel's stride form: 2 of every 4 from 0 to 15
        assert_eq!(
            CpuSet::parse_list("0-15:2/4"),
            Ok(cpus(&[0, 1, 4, 5, 8, 9, 12, 13]))
        );
    }

    #[test]
    fn prints_like_the_kernel() {
        assert_eq!(cpus(&[0, 1, 2, 3, 8, 10, 11]).to_string(), "0-3,8,10-11");
        assert_eq!(cpus(&[0, 1]).to_string(), "0-1");
        assert_eq!(cpus(&[0, 16]).to_string(), "0,16");
        assert_eq!(CpuSet::new().to_string(), "");
        assert_eq!(
            cpus(&[u32::MAX - 1, u32::MAX]).to_string(),
            "4294967294-4294967295"
        );
        assert_eq!(cpus(&[0, 1, 2, 3]).to_comma_list(), "0,1,2,3");
    }

    #[test]
    fn refuses_bad_lists_with_the_piece() {
        assert_eq!(
            CpuSet::parse_list("0-3,x"),
            Err(ListParseError::Syntax { piece: "x".into() })
        );
        assert_eq!(
            CpuSet::parse_list("4-1"),
            Err(ListParseError::Backwards { piece: "4-1".into() })
        );
        assert_eq!(
            CpuSet::parse_list("0-"),
            Err(ListParseError::Syntax { piece: "0-".into() })
        );
        assert_eq!(
            CpuSet::parse_list("-1"),
            Err(ListParseError::Syntax { piece: "-1".into() })
        );
        assert_eq!(
            CpuSet::parse_list("1,,2"),
            Err(ListParseError::Syntax { piece: "".into() })
        );
        assert_eq!(
            CpuSet::parse_list("4294967296"),
            Err(ListParseError::Syntax {
                piece: "4294967296".into()
            })
        );
        assert_eq!(
            CpuSet::parse_list("0-15:5/4"),
            Err(ListParseError::Syntax {
                piece: "0-15:5/4".into()
            })
        );
    }

    #[test]
    fn huge_ranges_are_refused_without_expanding() {
        assert_eq!(CpuSet::parse_list("0-4294967295"), Err(ListParseError::TooLarge));
        assert_eq!(CpuSet::parse_list("0-50000"), Err(ListParseError::TooLarge));
        assert_eq!(CpuSet::parse_list("0-49999").map(|s| s.len()), Ok(50_000));
        // many small pieces that add up past the limit
        let pieces: Vec<String> = (0..50_001).map(|i| (i * 2).to_string()).collect();
        assert_eq!(
            CpuSet::parse_list(&pieces.join(",")),
            Err(ListParseError::TooLarge)
        );
        assert_eq!(
            ListParseError::TooLarge.to_string(),
            "rejecting expanding CPU array for safety reasons, limit is 50000"
        );
    }

    #[test]
    fn parses_cpumaps_most_significant_word_first() {
        assert_eq!(CpuSet::parse_map("0000000f\n"), Ok(cpus(&[0, 1, 2, 3])));
        assert_eq!(CpuSet::parse_map("00000001,00000000"), Ok(cpus(&[32])));
        assert_eq!(CpuSet::parse_map("00fff000"), Ok((12..24).map(CpuId).collect()));
        assert_eq!(CpuSet::parse_map("ff\n\0"), Ok((0..8).map(CpuId).collect()));
        assert_eq!(CpuSet::parse_map("00000000,00000000"), Ok(CpuSet::new()));
        assert_eq!(
            CpuSet::parse_map("0000000g"),
            Err(ListParseError::MapWord {
                word: "0000000g".into()
            })
        );
        assert_eq!(
            CpuSet::parse_map("123456789"),
            Err(ListParseError::MapWord {
                word: "123456789".into()
            })
        );
    }

    #[test]
    fn ordered_parsing_keeps_the_written_order() {
        let ids = |v: &[u32]| v.iter().map(|&i| CpuId(i)).collect::<Vec<_>>();
        assert_eq!(CpuSet::parse_list_ordered("3,0-1\n"), Ok(ids(&[3, 0, 1])));
        assert_eq!(CpuSet::parse_list_ordered(""), Ok(vec![]));
        assert_eq!(
            CpuSet::parse_list_ordered("1,,2"),
            Err(ListParseError::Syntax { piece: "".into() })
        );
        assert_eq!(
            CpuSet::parse_list_ordered("0-4294967295"),
            Err(ListParseError::TooLarge)
        );
        assert_eq!(
            CpuSet::parse_list_ordered("0-30000,0-30000"),
            Err(ListParseError::TooLarge)
        );
    }

    #[test]
    fn set_algebra() {
        let a = cpus(&[0, 1, 2]);
        let b = cpus(&[2, 3]);
        assert_eq!(a.union(&b), cpus(&[0, 1, 2, 3]));
        assert_eq!(a.intersection(&b), cpus(&[2]));
        assert_eq!(a.difference(&b), cpus(&[0, 1]));
        assert!(cpus(&[1]).is_subset(&a));
        assert_eq!(format!("{a:?}"), "{0-2}");
    }
}
