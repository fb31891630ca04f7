//! Step features of many trajectories read by a decoder as one tree of prefixes: a step is
//! read once, however many rows continue it.
//!
//! PRM800K's phase-1 rows are each a prefix of earlier steps and one rated step, and they form
//! one tree per question: 51,835 rows, 46,335 distinct steps. A step's segment (its tokens and
//! separator; the first also carries the start token, the question and its separator) is a node
//! whose parent is the step before it. The nodes, in depth-first order, are cut into packs of
//! about [`PACK_TOKENS`] tokens, each read as one row after the keys and values of the path to
//! its first node (kept from the packs that read it). Each token is rotated at its position in
//! its own trajectory and attends to its own segment up to itself and to its ancestors'
//! segments, so that a step's feature (the hidden state at its separator) has attended to the
//! same tokens as in a read of the whole row, while every matrix product of the read is
//! full-sized.

use std::collections::HashMap;
use std::ops::Range;

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::batch::StepFeatures;
use crate::encoding::EncodedTrajectory;
use crate::model::{Decoder, DecoderCache, span_means, step_tokens};

/// A step of the tree: its segment of tokens, the step before it, and the steps that
/// continue it.
struct Node {
    segment: Vec<u32>,
    /// Where the step's own tokens begin in `segment` (after the question, in the first step's).
    own_start: usize,
    parent: usize,
    children: Vec<usize>,
}

/// The trajectories' steps as a tree, and each trajectory's path through it.
pub struct PrefixTree {
    /// Node 0 is the root, before any token.
    nodes: Vec<Node>,
    /// Per trajectory, the node of each of its steps.
    paths: Vec<Vec<usize>>,
}

/// Tokens a pack reads (a single longer segment makes a pack of its own): large enough that
/// the layers' products run at full speed, small enough that attention's scores, which grow
/// with the pack times its context, stay cheap beside them.
const PACK_TOKENS: usize = 1024;

/// A run of the depth-first walk read in one row, after the keys and values of `context`, the
/// path to its first node. Every node's parent is in the pack before it, or in the context.
#[derive(Debug, Clone, PartialEq)]
struct Pack {
    context: Vec<usize>,
    nodes: Vec<usize>,
    tokens: usize,
}

impl PrefixTree {
    /// The tree of `encoded`'s steps, or `None` when a trajectory is read in more than one
    /// window (its later windows repeat context, which is no prefix of what follows).
    pub fn of<'a>(encoded: impl IntoIterator<Item = &'a EncodedTrajectory>) -> Option<Self> {
        let mut tree = PrefixTree {
            nodes: vec![Node {
                segment: Vec::new(),
                own_start: 0,
                parent: 0,
                children: Vec::new(),
            }],
            paths: Vec::new(),
        };
        let mut child_of: HashMap<(usize, usize, Vec<u32>), usize> = HashMap::new();
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
                let own_start = at.start.max(start) - start;
                let node = *child_of
                    .entry((parent, own_start, segment.clone()))
                    .or_insert(next);
                if node == next {
                    tree.nodes.push(Node {
                        segment,
                        own_start,
                        parent,
                        children: Vec::new(),
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

    /// Every trajectory's step features, read by `decoder` from the packed tree; `progress`
    /// hears how many steps are read.
    pub fn features(
        &self,
        decoder: &Decoder,
        device: &Device,
        progress: impl FnMut(usize),
    ) -> Vec<StepFeatures> {
        self.features_in_packs(PACK_TOKENS, decoder, device, progress)
    }

    fn features_in_packs(
        &self,
        budget: usize,
        decoder: &Decoder,
        device: &Device,
        mut progress: impl FnMut(usize),
    ) -> Vec<StepFeatures> {
        let mut features: Vec<Vec<f32>> = vec![Vec::new(); self.nodes.len()];
        // The keys and values of the nodes with children that later packs may continue.
        let mut kept: HashMap<usize, DecoderCache> = HashMap::new();
        let mut done = 0;
        for pack in self.packs(budget) {
            kept.retain(|node, _| pack.context.contains(node));
            let past = (!pack.context.is_empty()).then(|| {
                let path: Vec<DecoderCache> =
                    pack.context.iter().map(|node| kept[node].clone()).collect();
                DecoderCache::concat(&path)
            });
            let layout = self.layout(&pack);
            let ids: Vec<i64> = pack
                .nodes
                .iter()
                .flat_map(|&node| &self.nodes[node].segment)
                .map(|&id| i64::from(id))
                .collect();
            let seq_len = ids.len();
            let (hidden, cache) = decoder.forward_packed(
                Tensor::from_data(TensorData::new(ids, [1, seq_len]), device),
                &layout.positions,
                Tensor::from_data(
                    TensorData::new(layout.blocked, [1, seq_len, layout.keys]),
                    device,
                ),
                past.as_ref(),
            );
            let hidden_width = hidden.dims()[2];
            let states = hidden.reshape([seq_len, hidden_width]);
            let last: Vec<i64> = layout.ends.iter().map(|&end| end as i64 - 1).collect();
            let index =
                Tensor::<1, Int>::from_data(TensorData::new(last, [pack.nodes.len()]), device);
            let mut read = states.clone().select(0, index);
            if decoder.step_feature().pools_step_tokens() {
                let spans: Vec<Range<usize>> = pack
                    .nodes
                    .iter()
                    .zip(&layout.ends)
                    .map(|(&node, &end)| {
                        let node = &self.nodes[node];
                        let start = end - node.segment.len();
                        step_tokens(start + node.own_start, end - 1)
                    })
                    .collect();
                read = Tensor::cat(vec![read, span_means(states, &spans)], 1);
            }
            let width = read.dims()[1];
            let read: Vec<f32> = read
                .into_data()
                .try_into_vec::<f32>()
                .expect("hidden states are f32");
            for (i, &node) in pack.nodes.iter().enumerate() {
                features[node] = read[i * width..(i + 1) * width].to_vec();
                if !self.nodes[node].children.is_empty() {
                    let start = layout.ends[i] - self.nodes[node].segment.len();
                    kept.insert(node, cache.tokens(start..layout.ends[i]));
                }
            }
            done += pack.nodes.len();
            progress(done);
        }
        let width = features.iter().map(Vec::len).max().unwrap_or(0);
        self.paths
            .iter()
            .map(|path| StepFeatures {
                values: path
                    .iter()
                    .flat_map(|&node| features[node].iter().copied())
                    .collect(),
                width,
            })
            .collect()
    }

    /// The nodes in depth-first order, cut into packs of about `budget` tokens.
    fn packs(&self, budget: usize) -> Vec<Pack> {
        let mut packs = Vec::new();
        let mut current: Option<Pack> = None;
        let mut stack: Vec<usize> = self.nodes[0].children.iter().rev().copied().collect();
        while let Some(node) = stack.pop() {
            stack.extend(self.nodes[node].children.iter().rev());
            let length = self.nodes[node].segment.len();
            if let Some(pack) = current.take_if(|pack| pack.tokens + length > budget) {
                packs.push(pack);
            }
            let pack = current.get_or_insert_with(|| Pack {
                context: self.path_before(node),
                nodes: Vec::new(),
                tokens: 0,
            });
            pack.nodes.push(node);
            pack.tokens += length;
        }
        packs.extend(current);
        packs
    }

    /// The nodes from the root's child down to `node`'s parent.
    fn path_before(&self, node: usize) -> Vec<usize> {
        let mut path = Vec::new();
        let mut at = self.nodes[node].parent;
        while at != 0 {
            path.push(at);
            at = self.nodes[at].parent;
        }
        path.reverse();
        path
    }

    /// Where `pack`'s tokens sit in their trajectories and what each attends to.
    fn layout(&self, pack: &Pack) -> Layout {
        // The context's keys come first, in path order: where each node's keys end.
        let mut context_end = HashMap::with_capacity(pack.context.len());
        let mut past_len = 0;
        for &node in &pack.context {
            past_len += self.nodes[node].segment.len();
            context_end.insert(node, past_len);
        }
        let keys = past_len + pack.tokens;
        let mut ends = Vec::with_capacity(pack.nodes.len());
        let mut index_of = HashMap::with_capacity(pack.nodes.len());
        let mut positions = Vec::with_capacity(pack.tokens);
        let mut blocked = vec![true; pack.tokens * keys];
        let mut start = 0;
        for (index, &node) in pack.nodes.iter().enumerate() {
            let length = self.nodes[node].segment.len();
            let end = start + length;
            // Keys open to every token of the node: its ancestors', in the pack and before it.
            let mut open = Vec::new();
            let mut depth = 0;
            let mut at = self.nodes[node].parent;
            while at != 0 {
                if let Some(&ancestor) = index_of.get(&at) {
                    let to = ends[ancestor];
                    let from = to - self.nodes[at].segment.len();
                    open.push(past_len + from..past_len + to);
                    depth += to - from;
                    at = self.nodes[at].parent;
                } else {
                    let context = context_end[&at];
                    open.push(0..context);
                    depth += context;
                    break;
                }
            }
            positions.extend(depth..depth + length);
            for query in start..end {
                let row = &mut blocked[query * keys..(query + 1) * keys];
                for range in &open {
                    row[range.clone()].fill(false);
                }
                row[past_len + start..=past_len + query].fill(false);
            }
            ends.push(end);
            index_of.insert(node, index);
            start = end;
        }
        Layout {
            positions,
            blocked,
            keys,
            ends,
        }
    }
}

/// A pack's row: every token's position in its trajectory, the attention mask
/// (`[tokens, context + tokens]`, row-major, `true` where blocked; the context's keys first),
/// and where each node's tokens end.
struct Layout {
    positions: Vec<usize>,
    blocked: Vec<bool>,
    /// Keys each token may attend to: the context's, then the pack's.
    keys: usize,
    ends: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DecoderConfig, DecoderFamily, StepFeature};
    use crate::named_choice::NamedChoice;

    /// Rows that continue each other: `[1, 2 | 3 | 4]`, `[1, 2 | 3 | 5, 5]`, `[1, 2 | 6]` and
    /// `[7 | 8]` (`|` ends a step), the first three sharing their question.
    fn rows() -> Vec<EncodedTrajectory> {
        [
            (vec![1, 2, 3, 4], vec![1, 2, 3]),
            (vec![1, 2, 3, 5, 5], vec![1, 2, 4]),
            (vec![1, 2, 6], vec![1, 2]),
            (vec![7, 8], vec![0, 1]),
        ]
        .into_iter()
        .map(|(tokens, ends)| EncodedTrajectory::single_window(tokens, &ends))
        .collect()
    }

    #[test]
    fn each_step_is_a_node_once() {
        let tree = PrefixTree::of(&rows()).unwrap();
        assert_eq!(tree.num_steps(), 7);
        assert_eq!(tree.num_tokens(), 2 + 1 + 1 + 2 + 1 + 1 + 1);
        assert_eq!(tree.paths[0][..2], tree.paths[1][..2]);
        assert_eq!(tree.paths[0][0], tree.paths[2][0]);
    }

    /// Whatever the budget, every node is read in exactly one pack, after its parent, and a
    /// pack's context is the path to its first node.
    #[test]
    fn packs_hold_every_node_once_after_its_path() {
        let tree = PrefixTree::of(&rows()).unwrap();
        for budget in [1, 2, 3, 4, 100] {
            let packs = tree.packs(budget);
            let mut read: Vec<usize> = packs.iter().flat_map(|pack| pack.nodes.clone()).collect();
            read.sort_unstable();
            assert_eq!(
                read,
                (1..tree.nodes.len()).collect::<Vec<_>>(),
                "budget {budget}"
            );
            for pack in &packs {
                assert_eq!(pack.context, tree.path_before(pack.nodes[0]));
                for (index, &node) in pack.nodes.iter().enumerate() {
                    let parent = tree.nodes[node].parent;
                    assert!(
                        parent == 0
                            || pack.nodes[..index].contains(&parent)
                            || pack.context.contains(&parent),
                        "budget {budget}: {pack:?}"
                    );
                }
                assert!(pack.tokens <= budget.max(2), "budget {budget}: {pack:?}");
            }
        }
        assert_eq!(tree.packs(100).len(), 1);
    }

    /// A token is rotated at its place in its own row and sees its path alone.
    #[test]
    fn a_layout_opens_the_path_alone() {
        let tree = PrefixTree::of(&rows()).unwrap();
        let open = |layout: &Layout, query: usize| -> Vec<usize> {
            (0..layout.keys)
                .filter(|&key| !layout.blocked[query * layout.keys + key])
                .collect()
        };
        let whole = tree.layout(&tree.packs(100)[0]);
        // Depth first: [1, 2] [3] [4] [5, 5] [6] [7] [8].
        assert_eq!(whole.positions, vec![0, 1, 2, 3, 3, 4, 2, 0, 1]);
        assert_eq!(open(&whole, 1), vec![0, 1]);
        assert_eq!(
            open(&whole, 5),
            vec![0, 1, 2, 4, 5],
            "the second 5 of [1, 2 | 3 | 5, 5]"
        );
        assert_eq!(open(&whole, 6), vec![0, 1, 6]);
        assert_eq!(open(&whole, 8), vec![7, 8]);
        // Cut after [1, 2] [3]: the next pack reads [4] [5, 5] after the keys of [1, 2] [3].
        let packs = tree.packs(3);
        let pack = &packs[1];
        assert_eq!(pack.tokens, 3);
        let cut = tree.layout(pack);
        assert_eq!(cut.positions, vec![3, 3, 4]);
        assert_eq!(open(&cut, 0), vec![0, 1, 2, 3]);
        assert_eq!(open(&cut, 2), vec![0, 1, 2, 4, 5]);
        let after = tree.layout(&packs[2]);
        assert_eq!(
            tree.packs(3)[2].context.len(),
            1,
            "[6] continues [1, 2] alone"
        );
        assert_eq!(after.positions[0], 2);
        assert_eq!(open(&after, 0), vec![0, 1, 2]);
    }

    /// The features are the same however the walk is cut into packs, whatever they are made
    /// of.
    #[test]
    fn features_do_not_depend_on_the_packing() {
        for &step_feature in StepFeature::ALL {
            features_do_not_depend_on_the_packing_of(step_feature);
        }
    }

    fn features_do_not_depend_on_the_packing_of(step_feature: StepFeature) {
        let device = Device::flex();
        device.seed(3);
        let decoder = DecoderConfig::new()
            .with_family(DecoderFamily::Qwen2)
            .with_vocab_size(10)
            .with_hidden_size(8)
            .with_intermediate_size(12)
            .with_num_hidden_layers(2)
            .with_num_attention_heads(2)
            .with_num_key_value_heads(1)
            .with_head_dim(4)
            .with_qkv_bias(true)
            .with_max_position_embeddings(16)
            .with_step_feature(step_feature)
            .init(&device);
        let tree = PrefixTree::of(&rows()).unwrap();
        let whole = tree.features_in_packs(100, &decoder, &device, |_| {});
        for budget in [1, 2, 3] {
            let cut = tree.features_in_packs(budget, &decoder, &device, |_| {});
            for (a, b) in whole.iter().zip(&cut) {
                assert_eq!(a.values.len(), b.values.len());
                for (x, y) in a.values.iter().zip(b.values.iter()) {
                    assert!((x - y).abs() < 1e-5, "budget {budget}: {x} against {y}");
                }
            }
        }
        assert_eq!(whole[0].num_steps(), 3);
        assert_eq!(whole[3].width, step_feature.width(8));
    }
}
