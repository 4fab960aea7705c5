//! The command line: `sift FILE` opens the TUI; subcommands script the same engine.

mod data;
mod export;
pub mod progress;
pub mod score;
pub mod suggest;
pub mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use train::{PretrainArgs, TrainArgs, TryArgs};

/// The environment variables sift reads (shown under `--help` and in the man page).
pub const ENV_HELP: &str = "\
Environment:
  SIFT_MODEL         model folder used when --model/--base is not given (default: the bundled model)
  SIFT_CONFIG        config.toml to read instead of the one in the user's config folder
  SIFT_CACHE_DIR     folder for the score cache and the unpacked bundled model
                     (default: the platform cache folder, e.g. ~/.cache/sift)
  RAYON_NUM_THREADS  worker threads for scoring and training (default: all cores)
  CANDLE_NUM_THREADS threads per matrix product (default: 1; records run in parallel instead)";

/// Curate instruction-tuning data: browse, fix, judge with a small local model, train on the selection.
#[derive(Parser, Debug)]
#[command(name = "sift", version, about, args_conflicts_with_subcommands = true, after_help = ENV_HELP)]
pub struct Cli {
    /// Dataset to open in the TUI (a bundled sample when omitted).
    pub file: Option<PathBuf>,
    /// Force the dataset format instead of detecting it.
    #[arg(long, global = true, value_parser = parse_format)]
    pub format: Option<crate::dataset::Format>,
    /// Print the effective configuration (config.toml merged over the defaults) as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Judge model directory for scoring in the TUI; default: $SIFT_MODEL, then the bundled model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

/// `sift <command>`: the subcommands (the TUI's key-bound commands are `tui::keymap::Command`).
#[derive(Subcommand, Debug)]
pub enum CliCommand {
    /// Format, record count, field lengths, duplicates and review counts.
    Stats {
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List problems as `line N: ...`; exit 1 when there are any.
    Check {
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set the review status, tags or note of a record.
    Set {
        file: PathBuf,
        /// 0-based record index.
        #[arg(long)]
        index: usize,
        /// unreviewed | accepted | rejected | needs-edit
        #[arg(long, value_parser = parse_status)]
        status: Option<crate::session::Status>,
        /// Add a tag (repeatable).
        #[arg(long)]
        tag: Vec<String>,
        /// Remove a tag (repeatable).
        #[arg(long)]
        untag: Vec<String>,
        /// Set the note.
        #[arg(long)]
        note: Option<String>,
        /// When another sift process is changing the file, wait for it instead of failing (exit 2).
        #[arg(long)]
        wait: bool,
    },
    /// Edit one field of a record and save the file at once.
    Edit {
        file: PathBuf,
        /// 0-based record index.
        #[arg(long)]
        index: usize,
        /// instruction | input | output | system | turn:N
        #[arg(long, value_parser = parse_field)]
        field: crate::dataset::Field,
        /// The new text.
        #[arg(long)]
        value: String,
        /// Overwrite even if the file changed on disk since it was read, or is read-only.
        #[arg(long)]
        force: bool,
        /// Save to this JSONL file instead of the file read (needed for `.jsonl.gz` and Parquet
        /// sources, which sift never rewrites).
        #[arg(long, value_name = "FILE")]
        save_as: Option<PathBuf>,
        /// When another sift process is changing the file, wait for it instead of failing (exit 2).
        #[arg(long)]
        wait: bool,
    },
    /// Apply commands from stdin, one per line (status N S, tag N T, untag N T, note N TEXT,
    /// edit N FIELD TEXT, insert N, duplicate N, delete N, undo, redo, save, save!, save-as FILE); prints `ok`
    /// once each change is journaled. TEXT may be a JSON string literal.
    Batch {
        file: PathBuf,
        /// When another sift process is changing the file, wait for it instead of failing (exit 2).
        #[arg(long)]
        wait: bool,
    },
    /// Export a selection for training: a data file (alpaca, sharegpt, openai, trl), or with --base
    /// (always for axolotl, llamafactory) a run folder with the trainer's config, launch.sh and a
    /// manifest. Records that cannot be exported are counted and listed.
    Export(Box<export::ExportArgs>),
    /// Judge every record with a local model: continuation, keep, IFD, perplexity and flags, one
    /// JSON object per record (in dataset order) written to --out.
    #[command(after_help = SCORE_HELP)]
    Score {
        /// The dataset (with --merge: optional; given, the merged measurements are also filed in the
        /// score cache, where the TUI finds them).
        #[arg(required_unless_present = "merge")]
        file: Option<PathBuf>,
        /// Model directory (config.json, model.safetensors, tokenizer.json); default: $SIFT_MODEL,
        /// then the bundled model.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Prompt template: alpaca | raw | input-only | chat (the model's chat template).
        #[arg(long, default_value = crate::prompt::DEFAULT_TEMPLATE)]
        template: String,
        /// Where to write the scores (JSONL); `-`: standard output.
        #[arg(long)]
        out: PathBuf,
        /// Score only these 0-based records, e.g. `0-99,120,500-`.
        #[arg(long)]
        select: Option<String>,
        /// TOML file with judge weights and flag thresholds: a config.toml (its [judge] and [flags]
        /// tables) or the judge's tables alone. Default: the user's config.toml, as the TUI reads it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Neither read nor write the score cache.
        #[arg(long)]
        no_cache: bool,
        /// Response tokens IFD compares (0, the default: the whole response, Cherry's exact IFD;
        /// N: the first N tokens, a little faster).
        #[arg(long, default_value_t = 0)]
        compare_tokens: usize,
        /// No progress on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Score only slice K of N (0-based, contiguous, in dataset order) and write a shard file
        /// for --merge. Shards of one job run anywhere, in any order.
        #[arg(long, value_parser = score::Shard::parse, conflicts_with_all = ["merge", "cluster_jobs"])]
        shard: Option<score::Shard>,
        /// Join shard files (all N of one job) into the scores file --out, byte for byte what one
        /// process writes; refuses shards of another dataset, model, template or settings.
        #[arg(long, num_args = 1.., value_name = "SHARD")]
        merge: Vec<PathBuf>,
        /// Write a Slurm array job (sift-score.slurm) and a Kubernetes indexed Job
        /// (sift-score-job.yaml) that score FILE in N shards and merge them into --out, beside
        /// --out, instead of scoring here.
        #[arg(long, value_name = "N", conflicts_with = "merge")]
        cluster_jobs: Option<usize>,
    },
    /// Learn from the review decisions saved so far (accepted = keep; rejected, needs-edit = not)
    /// and write `{index, suggest, reasons}` for every unreviewed record: `suggest` is the
    /// probability the annotator would reject it. Uses the judge's scores where the score cache
    /// has them; scores nothing itself.
    Suggest {
        file: PathBuf,
        /// Where to write the suggestions (JSONL); default: stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Judge model whose cached scores to use; default: $SIFT_MODEL, then the bundled model.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Fine-tune a model on the selected records (progress on stderr; Ctrl-C checkpoints and stops).
    Train(Box<TrainArgs>),
    /// Build a small Llama from scratch on an Alpaca corpus (tokenizer, training, f16 HF model dir).
    Pretrain(Box<PretrainArgs>),
    /// Answer an instruction with a model, streamed to stdout: the bundled default model, a base
    /// model, or a trained run's `model/` (the Alpaca prompt it was trained on).
    Try(Box<TryArgs>),
    /// Print a shell completion script, e.g. `sift completions bash > ~/.local/share/bash-completion/completions/sift`.
    Completions {
        /// bash | zsh | fish | elvish | powershell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `sift man > ~/.local/share/man/man1/sift.1`.
    Man,
}

/// Extra help of `sift score`: sharding on a cluster.
const SCORE_HELP: &str = "\
Scoring on a cluster:
  sift score data.jsonl --shard 0/4 --out scores.jsonl.shard-0-of-4   (one per shard, anywhere)
  sift score --merge scores.jsonl.shard-*-of-4 --out scores.jsonl data.jsonl
  sift score data.jsonl --out scores.jsonl --cluster-jobs 4            (writes Slurm and Kubernetes jobs)";

pub(crate) fn parse_selection(s: &str) -> Result<crate::session::Selection, String> {
    crate::session::Selection::parse(s)
}

fn parse_format(s: &str) -> Result<crate::dataset::Format, String> {
    crate::dataset::Format::from_name(s)
        .ok_or_else(|| format!("unknown format `{s}` (alpaca, dolly, sharegpt, openai, prompt-completion)"))
}

fn parse_status(s: &str) -> Result<crate::session::Status, String> {
    crate::session::Status::from_name(s)
        .ok_or_else(|| format!("unknown status `{s}` (unreviewed, accepted, rejected, needs-edit)"))
}

fn parse_field(s: &str) -> Result<crate::dataset::Field, String> {
    crate::dataset::Field::from_name(s)
        .ok_or_else(|| format!("unknown field `{s}` (instruction, input, output, system, turn:N)"))
}

/// Runs a subcommand; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let format = cli.format;
    match cli.command {
        Some(CliCommand::Stats { file, json }) => data::stats(&file, format, json),
        Some(CliCommand::Check { file, json }) => data::check(&file, format, json),
        Some(CliCommand::Set { file, index, status, tag, untag, note, wait }) => {
            data::set(&file, format, wait, index, status, &tag, &untag, note.as_deref())
        }
        Some(CliCommand::Edit { file, index, field, value, force, save_as, wait }) => {
            let save_as = save_as.as_deref();
            data::edit(&file, format, data::EditArgs { index, field, value: &value, force, save_as, wait })
        }
        Some(CliCommand::Batch { file, wait }) => {
            data::batch(&file, format, wait, std::io::stdin().lock(), std::io::stdout().lock())
        }
        Some(CliCommand::Export(args)) => export::run(*args, format),
        Some(CliCommand::Train(a)) => train::train(&a.file, format, &a.settings(), a.quiet),
        Some(CliCommand::Pretrain(a)) => train::pretrain(&a.config(), a.quiet),
        Some(CliCommand::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "sift",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Some(CliCommand::Man) => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut std::io::stdout())?;
            Ok(0)
        }
        Some(CliCommand::Try(a)) => train::try_it(&a),
        Some(CliCommand::Score { merge, out, file, quiet, .. }) if !merge.is_empty() => {
            let r = score::merge(&merge, &out, file.as_deref(), format)?;
            if !quiet {
                let cached = if file.is_some() {
                    format!("; {} measurements filed in the score cache", r.cached)
                } else {
                    String::new()
                };
                eprintln!("merged {} shards: {} records into {}{cached}", r.shards, r.records, out.display());
            }
            Ok(0)
        }
        Some(CliCommand::Score {
            file,
            out,
            cluster_jobs: Some(n),
            model,
            template,
            select,
            config,
            compare_tokens,
            ..
        }) => score::write_cluster_jobs(&score::ClusterArgs {
            file: &file.expect("clap requires FILE without --merge"),
            out: &out,
            shards: n,
            model: model.as_deref(),
            template: &template,
            select: select.as_deref(),
            config: config.as_deref(),
            compare_tokens,
        }),
        Some(CliCommand::Score {
            file,
            model,
            template,
            out,
            select,
            config,
            no_cache,
            compare_tokens,
            quiet,
            shard,
            ..
        }) => {
            let file = file.expect("clap requires FILE without --merge");
            score::score(&score::ScoreArgs {
                file: &file,
                format,
                model,
                template: &template,
                out: &out,
                select: select.as_deref(),
                config: config.as_deref(),
                no_cache,
                compare_tokens,
                quiet,
                shard,
            })
        }
        Some(CliCommand::Suggest { file, out, model }) => suggest::run(&file, format, out.as_deref(), model.as_deref()),
        None if cli.print_config => crate::config::print_config::<crate::tui::config::UiConfig>().map(|()| 0),
        None => crate::tui::run(cli.file.as_deref(), format, cli.model.as_deref()).map(|()| 0),
    }
}
