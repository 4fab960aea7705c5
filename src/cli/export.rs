//! `sift export`: write a selection for training, optionally as a run folder for a trainer.

use crate::dataset::Format;
use crate::export::{ExportRequest, ExternalHyper, Selection, Target, export};
use crate::session::Session;
use crate::terminal_text::{json as safe_json, visible, visible_lines};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Arguments of `sift export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The dataset to export from.
    pub file: PathBuf,
    /// all | accepted | rejected | unreviewed | needs-edit (optionally `,tag:NAME`).
    #[arg(long, default_value = "accepted", value_parser = parse_selection)]
    pub select: Selection,
    /// Only records carrying this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// alpaca | sharegpt | openai | trl | axolotl | llamafactory | trl-kto | trl-dpo
    #[arg(long, value_parser = parse_target)]
    pub to: Target,
    /// The data file (`-`: standard output); a run folder (data, config, launch.sh, sift_export.json) with --base or for
    /// axolotl and llamafactory.
    #[arg(long)]
    pub out: PathBuf,
    /// Base model (hub id or local path) for the trainer config.
    #[arg(long)]
    pub base: Option<String>,
    /// Chat template name for the trainer (LLaMA-Factory `template`, axolotl `chat_template`);
    /// guessed from the base model when omitted.
    #[arg(long)]
    pub template: Option<String>,
    /// Maximum sequence length in tokens; default: the base model's max_position_embeddings when
    /// --base is a local folder, else 2048.
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Training epochs.
    #[arg(long, default_value_t = ExternalHyper::default().epochs)]
    pub epochs: f64,
    /// Per-device micro-batch size.
    #[arg(long, default_value_t = ExternalHyper::default().batch)]
    pub batch_size: usize,
    /// Gradient accumulation steps.
    #[arg(long, default_value_t = ExternalHyper::default().accum)]
    pub grad_accum: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = ExternalHyper::default().lr)]
    pub lr: f64,
    /// Let the trainer run code shipped with the base model (trust_remote_code; off by default).
    #[arg(long)]
    pub trust_remote_code: bool,
    /// Exit 1 when some selected records could not be exported (the default; kept for scripts).
    #[arg(long, conflicts_with = "allow_skip")]
    pub strict: bool,
    /// Exit 0 even when some selected records could not be exported (they are still counted and
    /// listed in the summary).
    #[arg(long)]
    pub allow_skip: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_selection(s: &str) -> Result<Selection, String> {
    Selection::parse(s)
}

fn parse_target(s: &str) -> Result<Target, String> {
    Target::from_name(s).ok_or_else(|| {
        format!("unknown target `{s}` (alpaca, sharegpt, openai, trl, axolotl, llamafactory, trl-kto, trl-dpo)")
    })
}

/// Runs `sift export`; exit code 0, or 1 when some selected records could not be exported (unless
/// `--allow-skip`).
pub fn run(args: ExportArgs, format: Option<Format>) -> Result<i32> {
    // Reading only: an export works while the TUI or a batch holds the file.
    let session = Session::open_read_only(&args.file, format)?;
    for n in session.notices() {
        eprintln!("note: {}", visible(n));
    }
    let req = ExportRequest {
        selection: args.select.clone().with_tag(args.tag.clone()),
        target: args.to,
        out: args.out.clone(),
        base_model: args.base.clone(),
        template: args.template.clone(),
        hyper: ExternalHyper {
            max_len: args.max_len,
            epochs: args.epochs,
            batch: args.batch_size,
            accum: args.grad_accum,
            lr: args.lr,
            trust_remote_code: args.trust_remote_code,
            ..ExternalHyper::default()
        },
    };
    let summary = export(&session, &req)?;
    let report = if args.json {
        format!("{}\n", safe_json(&serde_json::to_string_pretty(&summary)?))
    } else {
        visible_lines(&format!("{}: {}", display(&args.file), summary.to_text()))
    };
    // With `--out -` the data goes to stdout and the report to stderr.
    if args.out.as_os_str() == "-" {
        eprint!("{report}");
    } else {
        print!("{report}");
    }
    Ok(if !args.allow_skip && summary.skipped() > 0 { 1 } else { 0 })
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
