//! `actprm bench`: measures every case asked for on the chosen device, with seeded inputs.

use actprm_core::model::{BackboneConfig, PrmBackboneConfig};
use actprm_core::pretrained::{
    DEFAULT_SEPARATOR_INIT, DecoderOptions, PretrainedBackbone, default_backbone_dir,
    default_decoder_file,
};
use actprm_core::rng::SeededRng;
use actprm_core::tasks::synthetic::SyntheticConfig;
use actprm_core::tokenizer::{SpecialTokensConfig, StepTokenizer};
use anyhow::{Context, Result, bail};

use crate::backend::Backend;
use crate::bench::BenchRun;
use crate::bench::cases::{self, Encoder};
use crate::bench::record::{BenchEnvironment, cpu_name, current_commit, utc_now};
use crate::cli::{BatchShape, BenchArgs, BenchCaseArg};
use crate::data_files::{evenly_spaced, read_processbench_split};

/// Ordinary wordpiece ids of MiniLM's vocabulary (below 1000 sit `[PAD]`, `[unused]` and the
/// special tokens).
const MINILM_ORDINARY_IDS: std::ops::Range<u32> = 1000..30_000;

/// Ordinary tokens of SmolLM2's vocabulary (its first ids are special tokens and bytes).
const SMOLLM2_ORDINARY_IDS: std::ops::Range<u32> = 1000..48_000;

/// The sizes every case runs at.
struct Sizes {
    encoder_shapes: Vec<BatchShape>,
    decoder_shapes: Vec<BatchShape>,
    scoring_shape: BatchShape,
    scoring_heads: Vec<usize>,
    heads_trajectories: usize,
    heads: usize,
    finetune_shape: BatchShape,
    eval_items: usize,
    eval_batch: usize,
}

impl Sizes {
    fn new(args: &BenchArgs) -> Self {
        let shape = |batch, seq_len| BatchShape { batch, seq_len };
        if args.smoke {
            return Self {
                encoder_shapes: vec![shape(2, 16)],
                decoder_shapes: vec![shape(1, 16)],
                scoring_shape: shape(2, 16),
                scoring_heads: vec![1, 2],
                heads_trajectories: 8,
                heads: 2,
                finetune_shape: shape(2, 16),
                eval_items: 2,
                eval_batch: 2,
            };
        }
        Self {
            encoder_shapes: args.shapes.clone(),
            decoder_shapes: args.decoder_shapes.clone(),
            scoring_shape: shape(32, 256),
            scoring_heads: vec![1, 8, 32],
            heads_trajectories: 256,
            heads: 32,
            finetune_shape: shape(16, 256),
            eval_items: args.eval_items,
            eval_batch: 16,
        }
    }
}

/// `actprm bench`.
pub fn bench(args: &BenchArgs, backend: &Backend) -> Result<()> {
    let cases = args.cases();
    if cases.contains(&BenchCaseArg::Eval) && args.processbench.is_none() {
        bail!("the eval case reads ProcessBench: pass --processbench DIR (holding gsm8k.json)");
    }
    let sizes = Sizes::new(args);
    let (warmup, repeats) = if args.smoke {
        (0, 1)
    } else {
        (args.warmup, args.repeats)
    };
    let environment = BenchEnvironment {
        implementation: "actprm".to_string(),
        backend: backend.name().to_string(),
        device: backend.adapter.clone().unwrap_or_else(cpu_name),
        threads: rayon::current_num_threads(),
        commit: args
            .commit
            .clone()
            .unwrap_or_else(|| current_commit(std::path::Path::new("."))),
        date: utc_now(),
    };
    let device = backend.device.clone();
    let backbone_dir = args
        .backbone_dir
        .clone()
        .unwrap_or_else(default_backbone_dir);
    let minilm = PretrainedBackbone::bert(
        &backbone_dir,
        &SpecialTokensConfig::new(),
        DEFAULT_SEPARATOR_INIT,
        &device,
    )?;
    fits("--shapes", &sizes.encoder_shapes, &minilm)?;
    let minilm_model = minilm.backbone.clone();
    let minilm_encoder = Encoder::new(
        "minilm",
        &minilm_model,
        MINILM_ORDINARY_IDS,
        &minilm.tokenizer,
    );

    let synthetic = StepTokenizer::for_synthetic(&SyntheticConfig::new());
    let longest = sizes
        .encoder_shapes
        .iter()
        .map(|s| s.seq_len)
        .max()
        .unwrap_or(1);
    let small_model = PrmBackboneConfig::Small(
        BackboneConfig::new(synthetic.vocab_size()).with_max_positions(longest),
    )
    .init(&device);
    let small_encoder = Encoder::new(
        "small",
        &small_model,
        0..synthetic.vocab_size() as u32,
        &synthetic,
    );

    let mut run = BenchRun::new(device, warmup, repeats, environment, &args.out)?;
    let mut rng = SeededRng::new(0);
    for case in cases {
        match case {
            BenchCaseArg::Encoder => {
                for encoder in [&minilm_encoder, &small_encoder] {
                    for &shape in &sizes.encoder_shapes {
                        cases::forward_pass(&mut run, "encoder_forward", encoder, shape, &mut rng)?;
                    }
                }
            }
            BenchCaseArg::Scoring => {
                for &heads in &sizes.scoring_heads {
                    cases::ensemble_scoring(
                        &mut run,
                        &minilm,
                        &minilm_encoder,
                        sizes.scoring_shape,
                        heads,
                        &mut rng,
                    )?;
                }
            }
            BenchCaseArg::Heads => cases::heads(
                &mut run,
                sizes.heads_trajectories,
                minilm.config.width(),
                sizes.heads,
                &mut rng,
            )?,
            BenchCaseArg::Finetune => cases::finetune_step(
                &mut run,
                &minilm,
                &minilm_encoder,
                sizes.finetune_shape,
                sizes.heads,
                &mut rng,
            )?,
            BenchCaseArg::Decoder => {
                let path = args.decoder.clone().unwrap_or_else(default_decoder_file);
                let decoder =
                    PretrainedBackbone::decoder(&path, &DecoderOptions::default(), &run.device)
                        .with_context(
                            || "the decoder case reads SmolLM2: run scripts/fetch-decoder.sh",
                        )?;
                fits("--decoder-shapes", &sizes.decoder_shapes, &decoder)?;
                let reader = Encoder::new(
                    "smollm2",
                    &decoder.backbone,
                    SMOLLM2_ORDINARY_IDS,
                    &decoder.tokenizer,
                );
                for &shape in &sizes.decoder_shapes {
                    cases::forward_pass(&mut run, "decoder_forward", &reader, shape, &mut rng)?;
                }
            }
            BenchCaseArg::Eval => {
                let dir = args.processbench.as_deref().expect("checked above");
                let items = evenly_spaced(read_processbench_split(dir, "gsm8k")?, sizes.eval_items);
                cases::eval_processbench(&mut run, &minilm, &items, sizes.eval_batch, sizes.heads)?;
            }
        }
    }
    eprintln!("appended to {}", args.out.display());
    Ok(())
}

/// Refuses a shape longer than `backbone` reads in one window, naming `flag`.
fn fits(flag: &str, shapes: &[BatchShape], backbone: &PretrainedBackbone) -> Result<()> {
    let longest = backbone.encoding.max_positions;
    match shapes.iter().find(|shape| shape.seq_len > longest) {
        Some(shape) => bail!(
            "{flag}: {}x{} is longer than the {longest} positions the backbone reads",
            shape.batch,
            shape.seq_len
        ),
        None => Ok(()),
    }
}
