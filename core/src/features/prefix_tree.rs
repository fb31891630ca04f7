//! Step features of many trajectories read by a decoder as one tree of prefixes, with its
//! key-value cache: a step read once is read once, however many rows continue it.
//!
//! PRM800K's phase-1 rows are each a prefix of earlier steps and one rated step, and they form
//! one tree per question: 51,835 rows, 46,335 distinct steps. A step's segment (its tokens and
//! separator; the first also carries the start token, the question and its separator) is a node
//! whose parent is the step before it. The tree is walked depth first; the children of a node
//! are read in batches after the keys and values of the path to it, and each child's own keys
//! and values are kept while its subtree is read. A step's feature is the hidden state at its
//! separator, which has attended to the same tokens as in a read of the whole row.

use std::collections::HashMap;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::batch::StepFeatures;
use crate::encoding::EncodedTrajectory;
use crate::model::{Decoder, DecoderCache};

/// A step of the tree: its segment of tokens, and the steps that continue it.
struct Node {
    segment: Vec<u32>,
    children: Vec<usize>,
    feature: Vec<f32>,
}

/// The trajectories' steps as a tree, and each trajectory's path through it.
pub struct PrefixTree {
    nodes: Vec<Node>,
    /// Per trajectory, the node of each of its steps.
    paths: Vec<Vec<usize>>,
}

/// The most tokens one batch of continuations holds (rows × their longest segment).
const BATCH_TOKENS: usize = 4096;

impl PrefixTree {
    /// The tree of `encoded`'s steps, or `None` when a trajectory is read in more than one
    /// window (its later windows repeat context, which is no prefix of what follows).
    pub fn of<'a>(encoded: impl IntoIterator<Item = &'a EncodedTrajectory>) -> Option<Self> {
        let mut tree = PrefixTree {
            nodes: vec![Node {
                segment: Vec::new(),
                children: Vec::new(),
                feature: Vec::new(),
            }],
            paths: Vec::new(),
        };
        let mut child_of: HashMap<(usize, Vec<u32>), usize> = HashMap::new();
        for trajectory in encoded {
            if trajectory.windows.len() > 1 {
                return None;
            }
            let tokens = trajectory.windows.first().map_or(&[][..], Vec::as_slice);
            let mut path = Vec::with_capacity(trajectory.num_steps());
            let (mut parent, mut start) = (0, 0);
            for at in &trajectory.step_positions {
                let segment = tokens[start..=at.position].to_vec();
                let next = tree.nodes.len();
                let node = *child_of.entry((parent, segment.clone())).or_insert(next);
                if node == next {
                    tree.nodes.push(Node {
                        segment,
                        children: Vec::new(),
                        feature: Vec::new(),
                    });
                    tree.nodes[parent].children.push(node);
                }
                path.push(node);
                (parent, start) = (node, at.position + 1);
            }
            tree.paths.push(path);
        }
        Some(tree)
    }

    /// Steps in the tree: every distinct step, read once.
    pub fn num_steps(&self) -> usize {
        self.nodes.len() - 1
    }

    /// Tokens the walk reads.
    pub fn num_tokens(&self) -> usize {
        self.nodes.iter().map(|node| node.segment.len()).sum()
    }

    /// Every trajectory's step features, read by `decoder` walking the tree; `progress` hears
    /// how many steps are read.
    pub fn features(
        mut self,
        decoder: &Decoder,
        pad_id: u32,
        device: &Device,
        mut progress: impl FnMut(usize),
    ) -> Vec<StepFeatures> {
        let mut done = 0;
        let mut path = Vec::new();
        let mut walk = Walk {
            decoder,
            pad_id,
            device,
            progress: &mut |read| {
                done += read;
                progress(done);
            },
        };
        walk.children_of(&mut self.nodes, 0, &mut path);
        let width = self
            .nodes
            .iter()
            .find_map(|node| (!node.feature.is_empty()).then_some(node.feature.len()));
        self.paths
            .iter()
            .map(|path| StepFeatures {
                values: path
                    .iter()
                    .flat_map(|&node| self.nodes[node].feature.iter().copied())
                    .collect(),
                width: width.unwrap_or(0),
            })
            .collect()
    }
}

/// What the depth-first walk reads with.
struct Walk<'a> {
    decoder: &'a Decoder,
    pad_id: u32,
    device: &'a Device,
    progress: &'a mut dyn FnMut(usize),
}

impl Walk<'_> {
    /// Reads the children of `node`, then their subtrees; `path` holds the keys and values of
    /// every segment from the root to `node`.
    fn children_of(&mut self, nodes: &mut [Node], node: usize, path: &mut Vec<DecoderCache>) {
        let children = nodes[node].children.clone();
        for batch in batches(&children, nodes) {
            let past = (!path.is_empty()).then(|| DecoderCache::concat(path));
            let lengths: Vec<usize> = batch.iter().map(|&c| nodes[c].segment.len()).collect();
            let (tokens, padding) = self.padded(batch.iter().map(|&c| &nodes[c].segment[..]));
            let (hidden, cache) = self
                .decoder
                .forward_extending(tokens, padding, past.as_ref());
            drop(past);
            let [rows, seq_len, width] = hidden.dims();
            let last: Vec<i64> = lengths
                .iter()
                .enumerate()
                .map(|(row, len)| (row * seq_len + len - 1) as i64)
                .collect();
            let index = Tensor::<1, Int>::from_data(TensorData::new(last, [rows]), self.device);
            let features: Vec<f32> = hidden
                .reshape([rows * seq_len, width])
                .select(0, index)
                .into_data()
                .try_into_vec::<f32>()
                .expect("hidden states are f32");
            for (row, &child) in batch.iter().enumerate() {
                nodes[child].feature = features[row * width..(row + 1) * width].to_vec();
            }
            (self.progress)(batch.len());
            for (row, &child) in batch.iter().enumerate() {
                if !nodes[child].children.is_empty() {
                    path.push(cache.row(row, lengths[row]));
                    self.children_of(nodes, child, path);
                    path.pop();
                }
            }
        }
    }

    /// Segments as one batch padded at the end.
    fn padded<'s>(
        &self,
        segments: impl Iterator<Item = &'s [u32]> + Clone,
    ) -> (Tensor<2, Int>, Tensor<2, Bool>) {
        let seq_len = segments.clone().map(<[u32]>::len).max().unwrap_or(0);
        let rows = segments.clone().count();
        let mut ids = Vec::with_capacity(rows * seq_len);
        let mut padding = Vec::with_capacity(rows * seq_len);
        for segment in segments {
            for i in 0..seq_len {
                ids.push(i64::from(segment.get(i).copied().unwrap_or(self.pad_id)));
                padding.push(i >= segment.len());
            }
        }
        let shape = [rows, seq_len];
        (
            Tensor::from_data(TensorData::new(ids, shape), self.device),
            Tensor::from_data(TensorData::new(padding, shape), self.device),
        )
    }
}

/// `children` in batches of at most [`BATCH_TOKENS`] padded tokens, each of one child at least.
fn batches(children: &[usize], nodes: &[Node]) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut rest = children;
    while !rest.is_empty() {
        let mut longest = 0;
        let taken = rest
            .iter()
            .enumerate()
            .take_while(|&(count, &child)| {
                longest = longest.max(nodes[child].segment.len());
                (count + 1) * longest <= BATCH_TOKENS
            })
            .count()
            .max(1);
        let (batch, tail) = rest.split_at(taken);
        batches.push(batch.to_vec());
        rest = tail;
    }
    batches
}
