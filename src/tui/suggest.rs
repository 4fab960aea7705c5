//! The review loop in the TUI: after each decision the suggestion model ([`crate::suggest`]) refits
//! in a background job, its `suggest` values land in the signal store (so `suggest>0.8` filters,
//! `s` sorts and `H` draws it like any signal), the model is saved beside the review state, and
//! "review next" walks the queue: each accept/reject/needs-edit moves to the next record of it.

use super::app::App;
use super::app::say;
use super::jobs::JobOutput;
use super::suggest_state::{Built, Refit};
use crate::dataset::Record;
use crate::dataset::RecordText;
use crate::judge::Signal;
use crate::session::Status;
use crate::suggest::{self, FeatureInput, Features, FitOptions, JudgeValues, QueueMode};
use std::collections::HashMap;
use std::time::Instant;

/// The suggestion in the signal store.
pub const SIGNAL: Signal = Signal::Suggest;

/// A fingerprint of what a record's features are computed from.
fn fingerprint(input: &FeatureInput) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let t = &input.text;
    for s in [t.instruction, t.input, t.output].into_iter().chain(input.flags.iter().map(String::as_str)) {
        h.update(s.as_bytes());
        h.update(&[0x1f]);
    }
    if let Some(j) = input.judge {
        for v in [j.keep, j.continuation, j.ifd, j.ppl, j.instruction_gain] {
            h.update(&v.to_le_bytes());
        }
    }
    h.digest()
}

/// Refits the model in the background from the decisions as they are now (one job at a time:
/// asked again while one runs, it runs once more when that one is done).
pub fn refit(app: &mut App) {
    if app.suggest.running {
        app.suggest.again = true;
        return;
    }
    let decisions = suggest::decisions(&app.session);
    let rejected = decisions.iter().filter(|d| d.1).count();
    if rejected < suggest::MIN_EACH || decisions.len() - rejected < suggest::MIN_EACH {
        return;
    }
    app.suggest.running = true;
    // What the job needs, copied now (the records themselves are decoded on the job's thread).
    let session = app.session.read_only_copy();
    let ids: Vec<u32> = session.dataset().entries().iter().map(|e| e.id).collect();
    let flags: Vec<Vec<String>> =
        ids.iter().map(|&id| app.signals.flag_names(id).map(String::from).collect()).collect();
    let judge: Vec<Option<JudgeValues>> = ids.iter().map(|&id| judge_values(app, id)).collect();
    let n = ids.len();
    let before = app.suggest.built.clone();
    app.jobs.spawn("suggest", n, move |ctx| {
        let t = Instant::now();
        let ds = session.dataset();
        let records: Vec<Record> = (0..n).map(|p| ds.record(p).unwrap_or_default()).collect();
        let inputs: Vec<FeatureInput> = records
            .iter()
            .zip(flags)
            .zip(judge)
            .map(|((r, flags), judge)| FeatureInput {
                text: RecordText { instruction: &r.instruction, input: &r.input, output: &r.output },
                flags,
                judge,
            })
            .collect();
        let prints: Vec<u64> = inputs.iter().map(fingerprint).collect();
        // The same records as last time: recompute only those whose inputs changed.
        let features = match before {
            Some(b) if b.ids == ids => {
                let mut f = b.features;
                for p in (0..n).filter(|&p| b.prints[p] != prints[p]) {
                    std::sync::Arc::make_mut(&mut f).update(p, &inputs[p]);
                }
                f
            }
            _ => std::sync::Arc::new(Features::build(&inputs)),
        };
        let fitted = suggest::fit(&features, &decisions, FitOptions::default());
        let values = match &fitted {
            Ok(f) => (0..n)
                .filter(|&p| session.status(p) == Status::Unreviewed)
                .map(|p| (ids[p], f.model.predict(&features, p)))
                .collect(),
            Err(_) => Vec::new(),
        };
        let evidence = fitted.is_ok().then(|| std::sync::Arc::new(suggest::Evidence::new(&features, &decisions)));
        let built = Built { features, ids, prints };
        ctx.output(JobOutput::Suggest(Box::new(Refit { fitted, built, values, evidence, took: t.elapsed() })));
        Ok(())
    });
}

/// The judge's scores of a record, when it has them all.
pub(super) fn judge_values(app: &App, id: u32) -> Option<JudgeValues> {
    let v = |s: Signal| app.signals.value(s, id);
    Some(JudgeValues {
        keep: v(Signal::Keep)?,
        continuation: v(Signal::Continuation)?,
        ifd: v(Signal::Ifd)?,
        ppl: v(Signal::Ppl)?,
        instruction_gain: v(Signal::Gain)?,
    })
}

/// Takes in a refit: the values replace the earlier ones, the model is saved beside the review
/// state, and a refit asked for meanwhile starts.
pub fn absorb(app: &mut App, since: u64, r: Refit) {
    app.suggest.running = false;
    app.suggest.built = Some(r.built);
    match r.fitted {
        Ok(fitted) => {
            app.signals.numeric.remove(&SIGNAL);
            app.signals.absorb(JobOutput::Numeric { signal: SIGNAL, values: r.values }, since);
            if let Err(e) = suggest::store::save(app.session.state_dir(), &fitted, app.suggest.mode) {
                say(app, format!("suggest: cannot save the model: {e}"));
            } else if app.suggest.reviewing {
                say(app, format!("suggest: {} ({} ms)", fitted.summary(), r.took.as_millis()));
            }
            app.suggest.fitted = Some(fitted);
            app.suggest.evidence = r.evidence;
            if !app.filter.is_empty() || app.sort.key == Some(SIGNAL) {
                app.refresh_view();
            }
        }
        Err(e) => {
            if app.suggest.reviewing {
                say(app, format!("suggest: {e}"));
            }
        }
    }
    if std::mem::take(&mut app.suggest.again) {
        refit(app);
    }
}

/// The order before the model exists: [`suggest::features::prior`] (the judge's `1 - keep` where
/// scored, and the flags' measured precision).
fn prior(app: &App, id: u32) -> f32 {
    suggest::features::prior(app.signals.value(Signal::Keep, id), app.signals.flag_names(id))
}

/// Moves to the next record of the review queue (turning "review next" on); says so when every
/// record is decided.
pub fn review_next(app: &mut App) {
    app.suggest.reviewing = true;
    let ds = app.session.dataset();
    let model = app.suggest.fitted.is_some() && app.signals.numeric.contains_key(&SIGNAL);
    let scores: HashMap<u32, f32> = ds
        .entries()
        .iter()
        .map(|e| (e.id, if model { app.signals.value(SIGNAL, e.id).unwrap_or(f32::NAN) } else { prior(app, e.id) }))
        .collect();
    let by_pos: Vec<f32> = ds.entries().iter().map(|e| scores[&e.id]).collect();
    let mode = if model { app.suggest.mode } else { QueueMode::LikelyReject };
    let unreviewed = (0..ds.len()).filter(|&p| app.session.status(p) == Status::Unreviewed);
    let Some(pos) = suggest::next(&by_pos, unreviewed, mode) else {
        app.suggest.reviewing = false;
        return say(app, "review: every record is decided");
    };
    if !(0..app.shown()).any(|i| app.pos_at(i) == Some(pos)) {
        // The queue spans the whole file: drop a filter or search that hides the record.
        app.filter = Default::default();
        app.search.query.clear();
        app.run_search();
        app.refresh_view();
    }
    if let Some(i) = (0..app.shown()).find(|&i| app.pos_at(i) == Some(pos)) {
        app.cursor = i;
        app.detail_scroll = 0;
        app.clamp();
    }
    let how = if model {
        format!("{}: suggest {:.2}", mode.name(), by_pos[pos])
    } else {
        format!("judge order until {} accepted and {} rejected", suggest::MIN_EACH, suggest::MIN_EACH)
    };
    say(app, format!("review next #{pos} ({how})"));
}

/// Switches the queue between likely rejects and the most uncertain records.
pub fn toggle_mode(app: &mut App) {
    app.suggest.mode = app.suggest.mode.toggled();
    say(app, format!("review queue: {}", app.suggest.mode.name()));
}
