//! The index job: decodes every record's text for search (and lengths) off the UI thread, then
//! computes the quality flags and duplicates. The UI thread feeds it the records' bytes in slices
//! ([`App::start_background`]).

use super::app::{App, Batch, Feed, record_len, search_fields};
use super::jobs::{JobCtx, JobOutput};
use super::search::Corpus;
use crate::dataset::{Format, RecordText, RecordTextBuf};
use crate::judge::Signal;
use crate::quality::heuristics::{self};
use std::sync::Arc;

/// Records handed to the index job per step, and bytes.
pub const FEED_RECORDS: usize = 16384;
pub const FEED_BYTES: usize = 4 << 20;

impl App {
    /// Starts indexing (search text, lengths) and flagging in the background. The UI thread hands
    /// the records' bytes to the job in slices from [`App::poll`], so it never stalls, even at 1M.
    pub fn start_background(&mut self) {
        if let Some(f) = self.feed.take() {
            f.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let n = self.session.dataset().len();
        let format = self.session.dataset().format();
        let flags = self.config.front.options.flags.then(|| self.config.flags.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        self.indexed = false;
        self.jobs.spawn("index", n, move |ctx| index_job(ctx, format, rx, n, flags));
        let cancel = self.jobs.running.last().expect("just spawned").cancel.clone();
        self.feed = Some(Feed { next: 0, tx, cancel });
        if !std::mem::replace(&mut self.judge.resumed, true) {
            super::score_resume::resume(self);
        }
    }

    /// Hands the next slice of records to the index job (a few ms of copying at most).
    pub(super) fn feed_step(&mut self) -> bool {
        let Some(feed) = self.feed.as_mut() else { return false };
        let ds = self.session.dataset();
        let n = ds.len();
        let mut batch = Batch::default();
        while feed.next < n && batch.ids.len() < FEED_RECORDS && batch.raws.len() < FEED_BYTES {
            let e = ds.entry(feed.next).expect("in range");
            let start = batch.raws.len();
            if !e.malformed {
                batch.raws.extend_from_slice(ds.raw(feed.next));
            }
            batch.spans.push((start, batch.raws.len()));
            batch.ids.push(e.id);
            feed.next += 1;
        }
        let stop = feed.tx.send(batch).is_err() || feed.next >= n;
        if stop {
            self.feed = None;
        }
        true
    }
}

/// The index job: reads the records' bytes from `rx`, `total` in all.
pub fn index_job(
    ctx: &JobCtx,
    format: Format,
    rx: std::sync::mpsc::Receiver<Batch>,
    total: usize,
    flags: Option<heuristics::FlagConfig>,
) -> Result<(), String> {
    super::jobs::background_pool().install(|| index_work(ctx, format, rx, total, flags))
}

fn index_work(
    ctx: &JobCtx,
    format: Format,
    rx: std::sync::mpsc::Receiver<Batch>,
    total: usize,
    flags: Option<heuristics::FlagConfig>,
) -> Result<(), String> {
    use rayon::prelude::*;
    let mut ids: Vec<u32> = Vec::with_capacity(total);
    let mut fields: Vec<RecordTextBuf> = Vec::with_capacity(total);
    let mut lens: Vec<(u32, f32)> = Vec::with_capacity(total);
    // The decoded text, kept for the flags once search is ready.
    let mut origs: Vec<RecordTextBuf> = Vec::new();
    while let Ok(batch) = rx.recv() {
        if ctx.cancelled() {
            return Ok(());
        }
        let decoded: Vec<(RecordTextBuf, RecordTextBuf)> = batch
            .spans
            .par_iter()
            .map(|&(s, e)| {
                let orig: RecordTextBuf = if s == e {
                    Default::default()
                } else {
                    search_fields(&crate::dataset::format::decode(format, &batch.raws[s..e]).record)
                };
                let low = super::search::lower(&orig);
                (orig, low)
            })
            .collect();
        for ((orig, low), &id) in decoded.into_iter().zip(&batch.ids) {
            lens.push((id, record_len(&orig)));
            if flags.is_some() {
                origs.push(orig);
            }
            fields.push(low);
        }
        ids.extend_from_slice(&batch.ids);
        ctx.progress(ids.len(), total);
    }
    if ctx.cancelled() {
        return Ok(());
    }
    ctx.output(JobOutput::Numeric { signal: Signal::Len, values: lens });
    ctx.output(JobOutput::Corpus(Arc::new(Corpus { ids: ids.clone(), fields })));
    let Some(cfg) = flags else { return Ok(()) };
    ctx.phase("flags");
    let n = origs.len();
    let mut all: Vec<Vec<heuristics::Flag>> = Vec::with_capacity(n);
    let step = 8192;
    for start in (0..n).step_by(step) {
        if ctx.cancelled() {
            return Ok(());
        }
        let end = (start + step).min(n);
        all.par_extend(origs[start..end].par_iter().map(|f| heuristics::flag_record(&f.as_text(), &cfg)));
        ctx.progress(end, n);
    }
    ctx.phase("duplicates");
    // Duplicates look at the prompt (instruction + input) only.
    let texts: Vec<RecordText> = origs.iter().map(|f| RecordText { output: "", ..f.as_text() }).collect();
    for (mine, dups) in all.iter_mut().zip(crate::quality::dedup::duplicate_flags(&texts, &cfg)) {
        mine.extend(dups);
    }
    if ctx.cancelled() {
        return Ok(());
    }
    let out = ids.into_iter().zip(all).filter(|(_, f)| !f.is_empty()).collect();
    ctx.output(JobOutput::Flags(out));
    Ok(())
}
