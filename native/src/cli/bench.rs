//! Arguments of `actprm bench`.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, ValueEnum};

use super::ranges;

/// What `actprm bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchCaseArg {
    /// The encoder's forward pass alone (MiniLM and the small backbone), in tokens/s.
    Encoder,
    /// MiniLM and the ensemble heads, scores read back, with 1, 8 and 32 heads, in tokens/s.
    Scoring,
    /// The heads alone on cached step features: scoring and a training step, in
    /// trajectories/s.
    Heads,
    /// One full fine-tuning step of MiniLM and 32 heads (forward, backward, AdamW), in
    /// tokens/s.
    Finetune,
    /// The decoder's forward pass alone (SmolLM2-135M-Instruct from --decoder), in tokens/s.
    Decoder,
    /// `eval processbench` on an evenly spaced slice of the gsm8k split (encoding, reading and
    /// scoring), in trajectories/s; needs --processbench.
    Eval,
}

impl BenchCaseArg {
    /// Every case, in the order they run.
    pub const ALL: [BenchCaseArg; 6] = [
        BenchCaseArg::Encoder,
        BenchCaseArg::Scoring,
        BenchCaseArg::Heads,
        BenchCaseArg::Finetune,
        BenchCaseArg::Decoder,
        BenchCaseArg::Eval,
    ];
}

/// A batch shape, `BATCHxSEQ_LEN` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchShape {
    /// Rows of the batch.
    pub batch: usize,
    /// Tokens per row.
    pub seq_len: usize,
}

impl FromStr for BatchShape {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected = || format!("{text:?} is not a shape BATCHxSEQ_LEN such as 32x256");
        let (batch, seq_len) = text.split_once('x').ok_or_else(expected)?;
        let parse = |part: &str| part.trim().parse::<usize>().ok().filter(|&n| n > 0);
        Ok(Self {
            batch: parse(batch).ok_or_else(expected)?,
            seq_len: parse(seq_len).ok_or_else(expected)?,
        })
    }
}

impl std::fmt::Display for BatchShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.batch, self.seq_len)
    }
}

/// `actprm bench`: throughput of the encoder, the heads, training and evaluation.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Cases to run, comma-separated [default: all; eval only with --processbench].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub cases: Vec<BenchCaseArg>,
    /// Encoder shapes, BATCHxSEQ_LEN, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "32x128,32x256,8x512")]
    pub shapes: Vec<BatchShape>,
    /// Untimed runs of every case before the timed ones.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Timed runs of every case; the median and the best are reported.
    #[arg(long, default_value_t = 5, value_parser = ranges::count)]
    pub repeats: usize,
    /// Threads of the CPU backend [default: one per core].
    #[arg(long, value_parser = ranges::small_count)]
    pub threads: Option<usize>,
    /// Directory of all-MiniLM-L6-v2 (config.json, model.safetensors, tokenizer.json)
    /// [default: ~/.cache/actprm/all-minilm-l6-v2, where scripts/fetch-backbone.sh puts it].
    #[arg(long)]
    pub backbone_dir: Option<PathBuf>,
    /// The decoder the decoder case reads: a GGUF file or a Hugging Face directory
    /// [default: ~/.cache/actprm/smollm2-135m-instruct-q4_1.gguf, where
    /// scripts/fetch-decoder.sh puts it].
    #[arg(long)]
    pub decoder: Option<PathBuf>,
    /// Decoder shapes, BATCHxSEQ_LEN, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4x256,2x512")]
    pub decoder_shapes: Vec<BatchShape>,
    /// ProcessBench directory (gsm8k.json) for the end-to-end case.
    #[arg(long)]
    pub processbench: Option<PathBuf>,
    /// Items of ProcessBench gsm8k the end-to-end case scores, evenly spaced over the split.
    #[arg(long, default_value_t = 64, value_parser = ranges::count)]
    pub eval_items: usize,
    /// Append one JSON line per case to this file.
    #[arg(long, default_value = "bench.jsonl")]
    pub out: PathBuf,
    /// Commit recorded with the results [default: `git rev-parse --short HEAD`, else
    /// "unknown"].
    #[arg(long)]
    pub commit: Option<String>,
    /// Tiny shapes and a single repetition: proves every case runs, measures nothing worth
    /// reading.
    #[arg(long)]
    pub smoke: bool,
}

impl BenchArgs {
    /// The cases asked for, in their running order.
    pub fn cases(&self) -> Vec<BenchCaseArg> {
        BenchCaseArg::ALL
            .into_iter()
            .filter(|case| {
                if self.cases.is_empty() {
                    *case != BenchCaseArg::Eval || self.processbench.is_some()
                } else {
                    self.cases.contains(case)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_and_refuse_nonsense() {
        assert_eq!(
            "32x256".parse::<BatchShape>().unwrap(),
            BatchShape {
                batch: 32,
                seq_len: 256
            }
        );
        for bad in ["32", "0x5", "x5", "3x", "ax4"] {
            let error = bad.parse::<BatchShape>().unwrap_err();
            assert!(error.contains("BATCHxSEQ_LEN"), "{error}");
        }
    }
}
