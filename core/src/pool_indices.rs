//! A set of pool indices, such as the trajectories a pass labelled, written as ranges:
//! `"0-15,17,19-40"` (both ends included), or `""` for none. A pass labels in pool order, so
//! the set grows by pushing ever larger indices, and its ranges stay few when it labels runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Pool indices in increasing order, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct PoolIndices(Vec<usize>);

impl PoolIndices {
    /// Adds `index`, which must be larger than every index already there.
    pub fn push(&mut self, index: usize) {
        if let Some(&last) = self.0.last() {
            assert!(
                index > last,
                "pool indices are pushed in increasing order: {index} after {last}"
            );
        }
        self.0.push(index);
    }

    /// Number of indices.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The indices, in increasing order.
    pub fn as_slice(&self) -> &[usize] {
        &self.0
    }

    /// The indices of a pass over a part of the pool, `part[i]` being the pool index of that
    /// pass's trajectory `i`, as indices of the whole pool.
    pub fn within(&self, part: &[usize]) -> Self {
        let mut whole = Self::default();
        for &index in &self.0 {
            whole.push(part[index]);
        }
        whole
    }
}

impl FromIterator<usize> for PoolIndices {
    /// Collects indices given in increasing order.
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        let mut indices = Self::default();
        for index in iter {
            indices.push(index);
        }
        indices
    }
}

impl fmt::Display for PoolIndices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0.iter().copied().peekable();
        let mut first = true;
        while let Some(start) = rest.next() {
            let mut end = start;
            while rest.next_if_eq(&(end + 1)).is_some() {
                end += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match end == start {
                true => write!(f, "{start}")?,
                false => write!(f, "{start}-{end}")?,
            }
        }
        Ok(())
    }
}

/// Why a text is not a set of pool indices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolIndicesError {
    /// A part is neither `N` nor `N-M`.
    #[error("pool indices: {0:?} is neither an index nor a range such as 3-7")]
    NotARange(String),
    /// A part does not come after the one before it.
    #[error("pool indices: {0:?} does not come after the indices before it")]
    OutOfOrder(String),
}

impl FromStr for PoolIndices {
    type Err = PoolIndicesError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut indices = Self::default();
        for part in text.split(',').filter(|part| !part.is_empty()) {
            let number = |text: &str| {
                text.trim()
                    .parse::<usize>()
                    .map_err(|_| PoolIndicesError::NotARange(part.to_string()))
            };
            let (start, end) = match part.split_once('-') {
                Some((start, end)) => (number(start)?, number(end)?),
                None => (number(part)?, number(part)?),
            };
            let after_last = indices.0.last().is_none_or(|&last| start > last);
            if start > end || !after_last {
                return Err(PoolIndicesError::OutOfOrder(part.to_string()));
            }
            indices.0.extend(start..=end);
        }
        Ok(indices)
    }
}

impl From<PoolIndices> for String {
    fn from(indices: PoolIndices) -> Self {
        indices.to_string()
    }
}

impl TryFrom<String> for PoolIndices {
    type Error = PoolIndicesError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_written_as_ranges_and_read_back() {
        let indices: PoolIndices = [0, 1, 2, 3, 5, 7, 8, 40].into_iter().collect();
        assert_eq!(indices.to_string(), "0-3,5,7-8,40");
        assert_eq!("0-3,5,7-8,40".parse::<PoolIndices>().unwrap(), indices);
        let json = serde_json::to_string(&indices).unwrap();
        assert_eq!(json, "\"0-3,5,7-8,40\"");
        assert_eq!(serde_json::from_str::<PoolIndices>(&json).unwrap(), indices);
        assert_eq!(PoolIndices::default().to_string(), "");
        assert!("".parse::<PoolIndices>().unwrap().is_empty());
    }

    #[test]
    fn text_out_of_order_or_not_a_range_is_refused_naming_the_part() {
        assert_eq!(
            "0-3,2".parse::<PoolIndices>(),
            Err(PoolIndicesError::OutOfOrder("2".to_string()))
        );
        assert_eq!(
            "5-4".parse::<PoolIndices>(),
            Err(PoolIndicesError::OutOfOrder("5-4".to_string()))
        );
        assert_eq!(
            "1,x-3".parse::<PoolIndices>(),
            Err(PoolIndicesError::NotARange("x-3".to_string()))
        );
    }

    #[test]
    fn indices_of_a_part_map_to_the_whole_pool() {
        let of_part: PoolIndices = [0, 2].into_iter().collect();
        assert_eq!(of_part.within(&[4, 9, 11]).as_slice(), [4, 11]);
    }

    #[test]
    #[should_panic(expected = "increasing order")]
    fn pushing_an_index_twice_is_a_bug() {
        let mut indices = PoolIndices::default();
        indices.push(3);
        indices.push(3);
    }
}
