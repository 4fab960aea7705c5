//! The scoring engine: tokenizes every record under four contexts, scores the response tokens in
//! length-bucketed, right-padded batches, and streams results through [`ScoreEvent`]s. Records whose
//! text is in the [`ScoreCache`] are not rescored; cancellation is checked between batches.

use super::cache::{CacheKey, ScoreCache, content_hash, turn_hash};
use super::signals::{ModelSignals, Surprise};
use crate::dataset::{RecordText, RecordTextBuf};
use crate::model::LocalModel;
use crate::model::decoder::{Decoder, Kernels, KvCache};
use crate::model::logprobs::gather_logprobs;
use crate::prompt::{ASSISTANT_HEADER, Template, input_layout, raw_layout};
use anyhow::{Result, anyhow, bail};
use candle_core::Tensor;
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Scoring settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Longest scored sequence (context + response) in tokens; also capped by the model context.
    pub max_tokens: usize,
    /// Padded tokens per forward batch.
    pub batch_tokens: usize,
    /// Response tokens in the first-tokens surprisal window.
    pub first_tokens: usize,
    /// Response tokens IFD compares: the response alone is scored over this many and IFD divides
    /// the template's loss over the same tokens by it. 0 (the default) compares whole responses,
    /// Cherry LLM's exact definition; 32 agreed with Cherry's own 7B selection far less (see
    /// benches/score_alpaca.rs `--cherry`). The template context always scores the whole response.
    pub compare_tokens: usize,
    /// Response tokens scored under the input-only and raw-layout contexts (instruction gain, raw
    /// fit): the start of a response is where those contexts differ most, and scoring them whole
    /// added cost and no continuation AUROC (benches/continuation_auroc.rs).
    pub context_tokens: usize,
    /// Most surprising response tokens kept for display.
    pub top_surprising: usize,
    /// Records tokenized and scored together (results stream out per chunk).
    pub chunk_records: usize,
    /// Batches run concurrently (data parallel, sharing the thread pool with the matmuls); 1 runs
    /// them one after another with every thread inside each matmul.
    pub parallel_batches: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_tokens: 1024,
            batch_tokens: 2048,
            first_tokens: 16,
            compare_tokens: 0,
            context_tokens: 32,
            top_surprising: 8,
            chunk_records: 128,
            // Two batches at once keep both cores busy through candle's single-threaded
            // element-wise ops; with the bundled model on 2 cores, 2048-token batches two at a time
            // scored 1.3x the records/s of 4096-token batches one at a time (benches/score_alpaca).
            parallel_batches: 2,
        }
    }
}

/// Progress and results of a scoring run, in order: cached `Scored` events first, a first
/// `Progress` (rate 0, ETA NaN), then `Scored` and `Progress` per chunk, then `Done` (or `Failed`).
#[derive(Clone, Debug)]
pub enum ScoreEvent {
    Progress {
        done: usize,
        total: usize,
        records_per_s: f64,
        eta_s: f64,
    },
    /// `signals` is `None` for a record with an empty response (nothing to score).
    Scored {
        position: usize,
        signals: Option<ModelSignals>,
        cached: bool,
    },
    Done {
        scored: usize,
        cached: usize,
        cancelled: bool,
    },
    Failed(String),
}

/// The result of [`Engine::score`]: one entry per record, in input order.
pub struct ScoreOutcome {
    pub signals: Vec<Option<ModelSignals>>,
    /// Records the model scored in this run.
    pub scored: usize,
    /// Records taken from the cache.
    pub cached: usize,
    pub cancelled: bool,
}

/// One response to score: a record's triple and, for an assistant turn of a conversation, the
/// context the trainer puts before it ([`crate::prompt::conversation_context`]), which then takes
/// the template prompt's place (the input holds the earlier turns, for the input-only context).
#[derive(Clone, Copy, Debug, Default)]
pub struct ScoreItem<'a> {
    pub text: RecordText<'a>,
    pub context: Option<&'a str>,
}

impl<'a> ScoreItem<'a> {
    /// The hash its measurements are filed under in the [`ScoreCache`]: the texts and the context.
    pub fn hash(&self) -> u64 {
        let t = &self.text;
        match self.context {
            None => content_hash(t.instruction, t.input, t.output),
            Some(ctx) => turn_hash(t.instruction, t.input, t.output, ctx),
        }
    }
}

/// A model plus the template it scores under.
pub struct Engine {
    pub model: LocalModel,
    pub template: Template,
    pub opts: EngineOptions,
    alone_ids: Vec<u32>,
    /// The alone context of a conversation turn: the conversation layout's assistant header.
    turn_alone_ids: Vec<u32>,
    /// Template openings shared by many prompts (e.g. Alpaca's preamble, with and without input),
    /// with their keys and values computed once: a prompt that starts with one is scored from
    /// the end of it, which gives the same numbers for less work.
    prefixes: Vec<(Vec<u32>, KvCache)>,
}

/// One scored sequence: context tokens then response tokens starting at `start`; with `prefix`,
/// `ids` continue that shared prefix (see [`Engine`]).
struct Seq {
    record: usize,
    layout: usize,
    ids: Vec<u32>,
    start: usize,
    prefix: Option<usize>,
}

/// A record's sequences with the byte offsets of its response tokens in `y`.
struct Built {
    offsets: Vec<(u32, u32)>,
    truncated: bool,
    seqs: Vec<Seq>,
}

const CZ: usize = 0;
const Z: usize = 1;
const ALONE: usize = 2;
const RAW: usize = 3;

impl Engine {
    /// An engine for `model` scoring under `template`.
    pub fn new(model: LocalModel, template: Template, opts: EngineOptions) -> Result<Engine> {
        let mut e = Engine { model, template, opts, alone_ids: vec![], turn_alone_ids: vec![], prefixes: vec![] };
        e.alone_ids = e.context_ids(&e.template.alone()?)?;
        e.turn_alone_ids = e.context_ids(ASSISTANT_HEADER)?;
        e.prefixes = e.shared_prefixes()?;
        Ok(e)
    }

    /// The token prefix every prompt of the template shares (one for prompts with an input, one
    /// without), found as the common start of two prompts that differ only in their texts.
    fn shared_prefixes(&self) -> Result<Vec<(Vec<u32>, KvCache)>> {
        let mut out: Vec<(Vec<u32>, KvCache)> = Vec::new();
        for input in ["", "Some text."] {
            let a = self.context_ids(&self.template.prompt("Name a colour.", input)?)?;
            let b = self.context_ids(&self.template.prompt("Write a poem.", input)?)?;
            let n = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            // Short openings are not worth a separate batch; the prefix must leave room to score.
            if n < 8 || n + 8 > self.limit() || out.iter().any(|(p, _)| p[..] == a[..n]) {
                continue;
            }
            let mut cache = self.model.decoder.new_cache();
            let ids = Tensor::new(&a[..n], self.model.decoder.device())?.unsqueeze(0)?;
            self.model.decoder.forward_step(&ids, &mut cache, 0)?;
            out.push((a[..n].to_vec(), cache));
        }
        Ok(out)
    }

    /// The cache key for this model, template and settings.
    pub fn cache_key(&self) -> CacheKey {
        CacheKey {
            model: self.model.fingerprint().to_string(),
            template: self.template.name(),
            settings: format!(
                "max_tokens={} first_tokens={} compare_tokens={} context_tokens={} long_input=cut_start alone_head=1",
                self.limit(),
                self.opts.first_tokens,
                self.opts.compare_tokens,
                self.opts.context_tokens
            ),
        }
    }

    fn limit(&self) -> usize {
        self.opts.max_tokens.min(self.model.config.max_position_embeddings).max(8)
    }

    /// `[BOS] + tok(text)`; a lone `"\n"` when that would be empty, so the first response token
    /// always has a prediction.
    fn context_ids(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids: Vec<u32> = self.model.config.bos_token_id.into_iter().collect();
        ids.extend(self.model.encode(text)?);
        if ids.is_empty() {
            ids = self.model.encode("\n")?;
        }
        if ids.is_empty() {
            bail!("the tokenizer gives no tokens for a newline and the model has no BOS token");
        }
        Ok(ids)
    }

    /// The input as the template's prompt can hold it in `room` tokens, and that prompt's context
    /// ids. A passage too long for the context loses its start, cut at a word boundary, so that the
    /// template and the instruction stay and the end of the passage stays next to the response
    /// (cutting the prompt from the left would drop the instruction and make every
    /// instruction-dependent signal meaningless). Every context of the record uses this same input.
    /// When even the prompt without its input does not fit, the input is returned whole and
    /// [`Engine::build`] cuts from the left.
    fn fit_input<'a>(&self, instruction: &str, input: &'a str, room: usize) -> Result<(&'a str, Vec<u32>)> {
        let context = |z: &str| self.context_ids(&self.template.prompt(instruction, z)?);
        let mut cut = input;
        for _ in 0..4 {
            let ids = context(cut)?;
            if ids.len() <= room {
                return Ok((cut, ids));
            }
            let enc = self.model.tokenizer.encode(cut, false).map_err(|e| anyhow!("tokenizing: {e}"))?;
            let offsets = enc.get_offsets();
            // Token counts of the parts do not add up exactly; a few tokens of slack save a retry.
            let drop = ids.len() - room + 2;
            if drop >= offsets.len() {
                return Ok((input, context(input)?));
            }
            let mut at = offsets[drop].0.min(cut.len());
            while !cut.is_char_boundary(at) {
                at += 1;
            }
            // Start at the next word, not inside one.
            let rest = &cut[at..];
            let skip = rest.find(char::is_whitespace).unwrap_or(rest.len());
            cut = rest[skip..].trim_start();
        }
        let cut = if cut.is_empty() { input } else { cut };
        Ok((cut, context(cut)?))
    }

    /// Builds the sequences of one record (or conversation turn).
    fn build(&self, record: usize, item: &ScoreItem) -> Result<Built> {
        let r = &item.text;
        let enc = self.model.tokenizer.encode(r.output, false).map_err(|e| anyhow!("tokenizing: {e}"))?;
        let limit = self.limit();
        let mut y = enc.get_ids().to_vec();
        let mut offsets: Vec<(u32, u32)> = enc.get_offsets().iter().map(|&(a, b)| (a as u32, b as u32)).collect();
        let mut truncated = false;
        if y.len() > limit * 3 / 4 {
            y.truncate(limit * 3 / 4);
            offsets.truncate(y.len());
            truncated = true;
        }
        // A conversation turn's context is cut from its start below (its earliest turns go first).
        let (input, cz, alone) = match item.context {
            Some(ctx) => (r.input, self.context_ids(ctx)?, &self.turn_alone_ids),
            None => {
                let (input, cz) = self.fit_input(r.instruction, r.input, limit - y.len())?;
                (input, cz, &self.alone_ids)
            }
        };
        truncated |= input.len() < r.input.len();
        let mut contexts = vec![(CZ, cz)];
        if !input.is_empty() {
            contexts.push((Z, self.context_ids(&input_layout(input))?));
        }
        contexts.push((ALONE, alone.clone()));
        contexts.push((RAW, self.context_ids(&raw_layout(r.instruction, input))?));
        let seqs = contexts
            .into_iter()
            .map(|(layout, mut ctx)| {
                let window = match layout {
                    CZ => 0,
                    ALONE => self.opts.compare_tokens,
                    _ => self.opts.context_tokens.max(self.opts.first_tokens),
                };
                let keep = if window == 0 { y.len() } else { y.len().min(window) };
                let y = &y[..keep];
                let room = limit - y.len();
                if ctx.len() > room {
                    // Keep BOS (if any) and the end of the context, next to the response.
                    let keep_head = usize::from(self.model.config.bos_token_id.is_some());
                    ctx.drain(keep_head..keep_head + ctx.len() - room);
                    truncated = true;
                }
                let mut start = ctx.len();
                ctx.extend_from_slice(y);
                // A prompt that opens with a shared prefix (and keeps a context token after it)
                // continues that prefix's cached keys and values.
                let prefix = (layout == CZ)
                    .then(|| self.prefixes.iter().position(|(p, _)| start > p.len() && ctx.starts_with(p)))
                    .flatten();
                if let Some(k) = prefix {
                    let n = self.prefixes[k].0.len();
                    ctx.drain(..n);
                    start -= n;
                }
                Seq { record, layout, ids: ctx, start, prefix }
            })
            .collect();
        Ok(Built { offsets, truncated, seqs })
    }

    /// Scores `records`; cache hits are reused and new results are appended to `cache`. `on_event`
    /// sees every [`ScoreEvent`] except `Done`/`Failed` (the caller reports the outcome).
    pub fn score(
        &self,
        records: &[RecordText],
        cache: &mut ScoreCache,
        cancel: &AtomicBool,
        on_event: &mut dyn FnMut(ScoreEvent),
    ) -> Result<ScoreOutcome> {
        let items: Vec<ScoreItem> = records.iter().map(|&text| ScoreItem { text, context: None }).collect();
        self.score_items(&items, cache, cancel, on_event)
    }

    /// [`Engine::score`] for responses that may be conversation turns scored under their history.
    pub fn score_items(
        &self,
        records: &[ScoreItem],
        cache: &mut ScoreCache,
        cancel: &AtomicBool,
        on_event: &mut dyn FnMut(ScoreEvent),
    ) -> Result<ScoreOutcome> {
        let total = records.len();
        let mut out: Vec<Option<ModelSignals>> = vec![None; total];
        let hashes: Vec<u64> = records.iter().map(ScoreItem::hash).collect();
        let mut pending = Vec::new();
        let mut cached = 0;
        for (i, r) in records.iter().enumerate() {
            if r.text.output.trim().is_empty() {
                on_event(ScoreEvent::Scored { position: i, signals: None, cached: false });
            } else if let Some(s) = cache.get(hashes[i]) {
                out[i] = Some(s.clone());
                cached += 1;
                on_event(ScoreEvent::Scored { position: i, signals: out[i].clone(), cached: true });
            } else {
                pending.push(i);
            }
        }
        let skipped = total - cached - pending.len();
        on_event(ScoreEvent::Progress { done: cached + skipped, total, records_per_s: 0.0, eta_s: f64::NAN });
        let t0 = Instant::now();
        let mut scored = 0;
        for chunk in pending.chunks(self.opts.chunk_records.max(1)) {
            if cancel.load(Ordering::Relaxed) {
                return Ok(ScoreOutcome { signals: out, scored, cached, cancelled: true });
            }
            let built: Vec<_> = chunk.par_iter().map(|&i| self.build(i, &records[i])).collect::<Result<_>>()?;
            let mut seqs = Vec::new();
            let mut meta = Vec::new();
            for (k, b) in built.into_iter().enumerate() {
                meta.push((chunk[k], b.offsets, b.truncated));
                seqs.extend(b.seqs.into_iter().map(|mut q| {
                    q.record = k;
                    q
                }));
            }
            let Some(nlls) = self.run_batches(&seqs, cancel)? else {
                return Ok(ScoreOutcome { signals: out, scored, cached, cancelled: true });
            };
            let mut per: Vec<[Option<Vec<f32>>; 4]> = vec![Default::default(); meta.len()];
            for (q, nll) in seqs.iter().zip(nlls) {
                per[q.record][q.layout] = Some(nll);
            }
            let mut fresh = Vec::new();
            for ((pos, offsets, truncated), layouts) in meta.into_iter().zip(per) {
                let s = self.summarise(&layouts, &offsets, truncated);
                fresh.push((hashes[pos], s.clone()));
                out[pos] = Some(s.clone());
                on_event(ScoreEvent::Scored { position: pos, signals: Some(s), cached: false });
            }
            cache.put_many(&fresh);
            scored += chunk.len();
            let el = t0.elapsed().as_secs_f64().max(1e-9);
            let rate = scored as f64 / el;
            on_event(ScoreEvent::Progress {
                done: cached + skipped + scored,
                total,
                records_per_s: rate,
                eta_s: (pending.len() - scored) as f64 / rate.max(1e-9),
            });
        }
        Ok(ScoreOutcome { signals: out, scored, cached, cancelled: false })
    }

    /// The model's mean final hidden state over each record's response tokens under the
    /// template's prompt (the `nll_cz` context, built and truncated as for scoring; one forward
    /// pass per record, batched), `hidden_size` values; None for an empty response, and `Ok(None)`
    /// when cancelled. Not cached: `benches/suggest_sim.rs --hidden` measures it as a suggestion feature.
    pub fn response_means(&self, records: &[RecordText], cancel: &AtomicBool) -> Result<Option<Vec<Option<Vec<f32>>>>> {
        let mut out = vec![None; records.len()];
        let pending: Vec<usize> = (0..records.len()).filter(|&i| !records[i].output.trim().is_empty()).collect();
        for chunk in pending.chunks(self.opts.chunk_records.max(1) * 4) {
            let seqs: Vec<Seq> = chunk
                .par_iter()
                .map(|&i| {
                    let b = self.build(i, &ScoreItem { text: records[i], context: None })?;
                    b.seqs.into_iter().find(|q| q.layout == CZ).ok_or_else(|| anyhow!("no template context"))
                })
                .collect::<Result<_>>()?;
            let Some(means) = self.run_batches_with(&seqs, cancel, response_mean)? else { return Ok(None) };
            for (q, m) in seqs.iter().zip(means) {
                out[q.record] = Some(m);
            }
        }
        Ok(Some(out))
    }

    /// Per-token response NLLs of every sequence (input order), or `None` when cancelled.
    fn run_batches(&self, seqs: &[Seq], cancel: &AtomicBool) -> Result<Option<Vec<Vec<f32>>>> {
        self.run_batches_with(seqs, cancel, response_nll)
    }

    /// `per_batch` of every sequence (input order) in length-bucketed batches, or `None` when cancelled.
    fn run_batches_with(
        &self,
        seqs: &[Seq],
        cancel: &AtomicBool,
        per_batch: PerBatch,
    ) -> Result<Option<Vec<Vec<f32>>>> {
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| (seqs[i].prefix, std::cmp::Reverse(seqs[i].ids.len())));
        // Longest first: each batch's first sequence fixes its padded length.
        let mut batches: Vec<&[usize]> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let len = seqs[order[i]].ids.len().max(1);
            let cap = (self.opts.batch_tokens / len).max(1).min(order.len() - i);
            // Length buckets: a batch also ends where padding would exceed a third of a sequence.
            // A batch shares one prefix (or none).
            let n = order[i..i + cap]
                .iter()
                .take_while(|&&j| seqs[j].ids.len() * 4 >= len * 3 && seqs[j].prefix == seqs[order[i]].prefix)
                .count()
                .max(1);
            batches.push(&order[i..i + n]);
            i += n;
        }
        let run = |b: &[usize]| {
            let batch: Vec<(&[u32], usize)> = b.iter().map(|&j| (seqs[j].ids.as_slice(), seqs[j].start)).collect();
            let prefix = seqs[b[0]].prefix.map(|k| &self.prefixes[k].1);
            per_batch(&self.model.decoder, &batch, prefix)
        };
        let mut out = vec![Vec::new(); seqs.len()];
        for group in batches.chunks(self.opts.parallel_batches.max(1)) {
            if cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let results: Vec<Result<Vec<Vec<f32>>>> =
                if group.len() == 1 { vec![run(group[0])] } else { group.par_iter().map(|b| run(b)).collect() };
            for (b, res) in group.iter().zip(results) {
                for (&j, nll) in b.iter().zip(res?) {
                    out[j] = nll;
                }
            }
        }
        Ok(Some(out))
    }

    fn summarise(&self, l: &[Option<Vec<f32>>; 4], offsets: &[(u32, u32)], truncated: bool) -> ModelSignals {
        let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() as f32 / v.len().max(1) as f32;
        let first = |v: &[f32]| mean(&v[..v.len().min(self.opts.first_tokens)]);
        let get = |k: usize| l[k].as_deref().unwrap_or(&[]);
        let cz = get(CZ);
        // The first `n` response tokens (all of them for 0), as far as the response goes.
        let window = |v: &[f32], n: usize| v.len().min(if n == 0 { usize::MAX } else { n });
        let ctx = self.opts.context_tokens.max(self.opts.first_tokens);
        let alone = get(ALONE);
        let nll_y = mean(alone);
        let mut top: Vec<usize> = (0..cz.len()).collect();
        top.sort_by(|&a, &b| cz[b].total_cmp(&cz[a]));
        top.truncate(self.opts.top_surprising);
        top.sort_unstable();
        ModelSignals {
            nll_cz: mean(cz),
            nll_cz_ifd: mean(&cz[..window(cz, self.opts.compare_tokens).min(alone.len())]),
            nll_cz_head: mean(&cz[..window(cz, ctx)]),
            nll_y_head: mean(&alone[..window(alone, ctx)]),
            nll_z: if l[Z].is_some() { mean(get(Z)) } else { mean(&alone[..window(alone, ctx)]) },
            nll_y,
            nll_raw: mean(get(RAW)),
            first_cz: first(cz),
            first_raw: first(get(RAW)),
            tokens: cz.len() as u32,
            scored_bytes: cz.len().checked_sub(1).and_then(|t| offsets.get(t)).map_or(0, |o| o.1),
            truncated,
            surprising: top
                .into_iter()
                .filter_map(|t| offsets.get(t).map(|&(start, end)| Surprise { start, end, nll: cz[t] }))
                .collect(),
        }
    }
}

/// Negative log-likelihood of each response token `seq[start..]` given its prefix, for one batch of
/// `(sequence, start)` pairs (right-padded into one `[B, T]` batch; `start >= 1`), each sequence
/// continuing the cached `shared` prefix when given. Only rows that predict a response token go
/// through the output projection.
pub fn response_nll(model: &Decoder, batch: &[(&[u32], usize)], shared: Option<&KvCache>) -> Result<Vec<Vec<f32>>> {
    let cfg = model.config();
    let t = batch.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    let b = batch.len();
    let mut ids = vec![0u32; b * t];
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for (i, (s, start)) in batch.iter().enumerate() {
        if *start == 0 {
            bail!("response_nll: a response needs at least one context token");
        }
        if let Some(&bad) = s.iter().find(|&&x| x as usize >= cfg.vocab_size) {
            bail!("token id {bad} is outside the vocabulary ({})", cfg.vocab_size);
        }
        ids[i * t..i * t + s.len()].copy_from_slice(s);
        for p in start - 1..s.len().saturating_sub(1) {
            rows.push((i * t + p) as u32);
            targets.push(s[p + 1]);
        }
    }
    if targets.is_empty() {
        return Ok(vec![Vec::new(); b]);
    }
    let before = shared.map_or(0, KvCache::len);
    if before + t > cfg.max_position_embeddings {
        bail!(
            "sequence of {} tokens exceeds the model context ({} positions)",
            before + t,
            cfg.max_position_embeddings
        );
    }
    let dev = model.device();
    let ids = Tensor::from_vec(ids, (b, t), dev)?;
    let hidden = match shared {
        Some(p) => model.hidden_states_after(&ids, p)?,
        None => model.hidden_states(&ids, Kernels::Fast)?,
    };
    let hidden = hidden.reshape((b * t, cfg.hidden_size))?.index_select(&Tensor::new(rows.as_slice(), dev)?, 0)?;
    let chunk = ((16usize << 20) / cfg.vocab_size).max(1);
    let mut flat = Vec::with_capacity(targets.len());
    let mut s0 = 0;
    while s0 < targets.len() {
        let n = chunk.min(targets.len() - s0);
        let logits = model.project(&hidden.narrow(0, s0, n)?)?;
        flat.extend(gather_logprobs(&logits, &targets[s0..s0 + n])?.into_iter().map(|lp| -lp));
        s0 += n;
    }
    let mut it = flat.into_iter();
    Ok(batch.iter().map(|(s, start)| it.by_ref().take(s.len().saturating_sub(*start)).collect()).collect())
}

/// What [`Engine::run_batches_with`] computes per batch: one vector per `(sequence, start)` pair.
type PerBatch = fn(&Decoder, &[(&[u32], usize)], Option<&KvCache>) -> Result<Vec<Vec<f32>>>;

/// Mean final hidden state over the response positions `seq[start..]` of each `(sequence, start)`
/// pair of one batch (as [`response_nll`] takes them).
fn response_mean(model: &Decoder, batch: &[(&[u32], usize)], shared: Option<&KvCache>) -> Result<Vec<Vec<f32>>> {
    let t = batch.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    let b = batch.len();
    let mut ids = vec![0u32; b * t];
    for (i, (s, _)) in batch.iter().enumerate() {
        ids[i * t..i * t + s.len()].copy_from_slice(s);
    }
    let ids = Tensor::from_vec(ids, (b, t), model.device())?;
    let hidden = match shared {
        Some(p) => model.hidden_states_after(&ids, p)?,
        None => model.hidden_states(&ids, Kernels::Fast)?,
    };
    let hidden = hidden.to_dtype(candle_core::DType::F32)?.to_vec3::<f32>()?;
    Ok(batch
        .iter()
        .zip(hidden)
        .map(|((s, start), rows)| {
            let resp = &rows[*start..s.len()];
            let mut m = vec![0f32; rows.first().map_or(0, Vec::len)];
            for r in resp {
                m.iter_mut().zip(r).for_each(|(a, x)| *a += x);
            }
            m.iter_mut().for_each(|a| *a /= resp.len().max(1) as f32);
            m
        })
        .collect())
}

/// Scores `records` on a new thread; events arrive on the returned channel, ending with `Done` or
/// `Failed`. The cache is opened on that thread ([`ScoreCache::open`] under `cache_dir`, or off).
pub fn spawn(
    engine: Arc<Engine>,
    records: Vec<RecordTextBuf>,
    cache_dir: Option<std::path::PathBuf>,
    cancel: Arc<AtomicBool>,
) -> std::sync::mpsc::Receiver<ScoreEvent> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cache = match &cache_dir {
            Some(d) => ScoreCache::open(d, &engine.cache_key()),
            None => ScoreCache::disabled("no cache directory"),
        };
        let texts: Vec<RecordText> = records.iter().map(RecordTextBuf::as_text).collect();
        let res = engine.score(&texts, &mut cache, &cancel, &mut |e| {
            let _ = tx.send(e);
        });
        let _ = tx.send(match res {
            Ok(o) => ScoreEvent::Done { scored: o.scored, cached: o.cached, cancelled: o.cancelled },
            Err(e) => ScoreEvent::Failed(format!("{e:#}")),
        });
    });
    rx
}
