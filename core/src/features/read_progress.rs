//! How far a read of encoded trajectories has come, counted in tokens: windows are read
//! shortest first, so a count of the trajectories read would run ahead of the work, and a
//! progress bar's estimate of the time left with it.

use crate::encoding::EncodedTrajectory;

/// The tokens read so far out of every encoding's, told in encodings' worth.
pub(super) struct ReadProgress {
    /// Tokens in each encoding's windows.
    tokens: Vec<usize>,
    total: usize,
    read: usize,
}

impl ReadProgress {
    /// Nothing of `encoded` read yet.
    pub(super) fn new(encoded: &[EncodedTrajectory]) -> Self {
        let tokens: Vec<usize> = encoded
            .iter()
            .map(|encoding| encoding.windows.iter().map(Vec::len).sum())
            .collect();
        let total = tokens.iter().sum();
        Self {
            tokens,
            total,
            read: 0,
        }
    }

    /// Counts the encodings at `indices` as read.
    pub(super) fn add(&mut self, indices: &[usize]) {
        self.read += indices
            .iter()
            .map(|&index| self.tokens[index])
            .sum::<usize>();
    }

    /// How many encodings' worth of tokens are read, rounded down: every encoding once all
    /// their tokens are.
    pub(super) fn done(&self) -> usize {
        let encodings = self.tokens.len();
        if self.read >= self.total {
            return encodings;
        }
        // In 64 bits: a browser's usize is 32.
        (self.read as u64 * encodings as u64 / self.total as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(lengths: &[usize]) -> EncodedTrajectory {
        EncodedTrajectory {
            windows: lengths.iter().map(|&len| vec![1; len]).collect(),
            step_positions: Vec::new(),
        }
    }

    #[test]
    fn counts_tokens_not_encodings() {
        // 2 + 2 + 4 + (4 + 4) = 16 tokens.
        let encoded = [
            windows(&[2]),
            windows(&[2]),
            windows(&[4]),
            windows(&[4, 4]),
        ];
        let mut progress = ReadProgress::new(&encoded);
        assert_eq!(progress.done(), 0);
        progress.add(&[0, 1]);
        assert_eq!(
            progress.done(),
            1,
            "half the encodings, a quarter of the tokens"
        );
        progress.add(&[2]);
        assert_eq!(progress.done(), 2);
        progress.add(&[3]);
        assert_eq!(progress.done(), 4, "all of them");
    }
}
