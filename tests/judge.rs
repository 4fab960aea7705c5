//! The judge on the tiny fixture model: exact response-token losses, cache behaviour, incremental
//! rescoring, cancellation, `sift score` output, and the continuation dev set.

mod common;
use common::*;
use sift::dataset::RecordText;
use sift::dataset::RecordTextBuf;
use sift::judge::devset::{self, Split};
use sift::judge::engine::response_nll;
use sift::judge::{CacheKey, Engine, EngineOptions, ScoreCache, ScoreEvent, Template};
use sift::model::{Kernels, LocalModel, token_logprobs};
use sift::prompt::{ALPACA_RESPONSE_HEADER, alpaca_prompt};
use std::sync::atomic::{AtomicBool, Ordering};

fn engine(opts: EngineOptions) -> Engine {
    Engine::new(LocalModel::load(&common::tiny_llama()).unwrap(), Template::Alpaca, opts).unwrap()
}

/// The fixture's context (128 positions) is too short for the Alpaca preamble: exactness is
/// checked under the raw template, where nothing is truncated, comparing whole responses.
fn raw_engine() -> Engine {
    let opts = EngineOptions { compare_tokens: 0, ..Default::default() };
    Engine::new(LocalModel::load(&common::tiny_llama()).unwrap(), Template::Raw, opts).unwrap()
}

const RECS: [(&str, &str, &str); 5] = [
    ("Summarize the text.", "The sun is a star. It is hot.", "The sun is a hot star."),
    ("Name a colour.", "", "Red."),
    ("Add the numbers.", "2 and 3", "5"),
    ("Write a haiku about rain.", "", "Soft rain on the roof\nwhispers through the night"),
    ("Translate to French.", "Good morning", "Bonjour"),
];

fn texts(recs: &[(&'static str, &'static str, &'static str)]) -> Vec<RecordText<'static>> {
    recs.iter().map(|&(instruction, input, output)| RecordText { instruction, input, output }).collect()
}

fn score(e: &Engine, recs: &[RecordText], cache: &mut ScoreCache) -> sift::judge::ScoreOutcome {
    e.score(recs, cache, &AtomicBool::new(false), &mut |_| {}).unwrap()
}

/// Mean NLL of `y` after `ctx`, computed from all-position log-probs of the full sequence.
fn direct(m: &LocalModel, ctx: &str, y: &str) -> f32 {
    let mut ids: Vec<u32> = m.config.bos_token_id.into_iter().collect();
    ids.extend(m.encode(ctx).unwrap());
    let start = ids.len();
    ids.extend(m.encode(y).unwrap());
    let lp = &token_logprobs(&m.decoder, &[&ids], Kernels::Fast).unwrap_or_else(|e| panic!("{ctx:?} {y:?}: {e}"))[0];
    let resp = &lp[start - 1..];
    -resp.iter().sum::<f32>() / resp.len() as f32
}

#[test]
fn losses_cover_exactly_the_response_tokens() {
    let e = raw_engine();
    let recs = texts(&RECS);
    let out = score(&e, &recs, &mut ScoreCache::disabled("test"));
    for r in &recs {
        let i = recs.iter().position(|x| x.output == r.output).unwrap();
        let s = out.signals[i].as_ref().unwrap();
        let m = &e.model;
        let close = |a: f32, b: f32| (a - b).abs() < 1e-4 * b.abs().max(1.0);
        let raw = if r.input.is_empty() {
            format!("{}\n", r.instruction)
        } else {
            format!("{}\n\n{}\n", r.instruction, r.input)
        };
        assert!(close(s.nll_cz, direct(m, &raw, r.output)), "{r:?}");
        assert!(close(s.nll_raw, s.nll_cz_head));
        assert!(close(s.nll_y, direct(m, "", r.output)), "alone = BOS only under the raw template");
        if r.input.is_empty() {
            assert_eq!(s.nll_z, s.nll_y_head, "without an input: the alone context over the same first tokens");
        } else {
            assert!(close(s.nll_z, direct(m, &format!("{}\n\n", r.input), r.output)));
        }
        assert_eq!(s.tokens as usize, m.encode(r.output).unwrap().len());
        assert!(!s.truncated);
    }
    // Under Alpaca the prompt is cut from the left to fit, and the record says so.
    let e = engine(EngineOptions::default());
    let a = score(&e, &recs, &mut ScoreCache::disabled("test"));
    let s = a.signals[0].as_ref().unwrap();
    assert!(s.truncated && s.nll_cz.is_finite());
    let alone = direct(&e.model, ALPACA_RESPONSE_HEADER, recs[0].output);
    assert!((s.nll_y - alone).abs() < 1e-4, "alone = BOS + the bare response header under Alpaca, as Cherry scores it");
    assert!(alpaca_prompt(recs[0].instruction, recs[0].input).ends_with(ALPACA_RESPONSE_HEADER));
}

/// Mean NLL of the first `k` tokens of `y` after `ctx` (same tokenization as [`direct`]).
fn direct_head(m: &LocalModel, ctx: &str, y: &str, k: usize) -> f32 {
    let mut ids: Vec<u32> = m.config.bos_token_id.into_iter().collect();
    ids.extend(m.encode(ctx).unwrap());
    let start = ids.len();
    ids.extend(m.encode(y).unwrap().into_iter().take(k));
    let lp = &token_logprobs(&m.decoder, &[&ids], Kernels::Fast).unwrap()[0];
    let resp = &lp[start - 1..];
    -resp.iter().sum::<f32>() / resp.len() as f32
}

#[test]
fn comparisons_use_their_token_windows_and_perplexity_the_whole_response() {
    let model = LocalModel::load(&common::tiny_llama()).unwrap();
    let opts = EngineOptions { compare_tokens: 3, context_tokens: 3, first_tokens: 2, ..Default::default() };
    let e = Engine::new(model, Template::Raw, opts).unwrap();
    let recs = texts(&RECS);
    let out = score(&e, &recs, &mut ScoreCache::disabled("test"));
    let close = |a: f32, b: f32| (a - b).abs() < 1e-4 * b.abs().max(1.0);
    let mut long = 0;
    for (r, s) in recs.iter().zip(&out.signals) {
        let s = s.as_ref().unwrap();
        let m = &e.model;
        let raw = if r.input.is_empty() {
            format!("{}\n", r.instruction)
        } else {
            format!("{}\n\n{}\n", r.instruction, r.input)
        };
        assert!(close(s.nll_cz, direct(m, &raw, r.output)), "whole response under the template");
        assert!(close(s.nll_cz_head, direct_head(m, &raw, r.output, 3)));
        assert!(close(s.nll_y, direct_head(m, "", r.output, 3)), "alone: first 3 tokens only");
        assert!(close(s.nll_raw, s.nll_cz_head), "raw template: the raw context is the template context");
        assert_eq!(s.tokens as usize, m.encode(r.output).unwrap().len());
        long += usize::from(s.tokens > 3);
    }
    assert!(long >= 2, "the fixture texts must exercise the cut");
    let sig = sift::judge::signals::ifd(out.signals[3].as_ref().unwrap());
    let m = out.signals[3].as_ref().unwrap();
    assert!((sig - m.nll_cz_ifd / m.nll_y).abs() < 1e-6 && m.nll_cz_ifd == m.nll_cz_head && m.nll_cz_ifd != m.nll_cz);
    // By default IFD compares whole responses (Cherry's definition); the input-only and raw
    // contexts still score only the first tokens.
    let opts = EngineOptions { context_tokens: 3, first_tokens: 2, ..Default::default() };
    let e = Engine::new(LocalModel::load(&common::tiny_llama()).unwrap(), Template::Raw, opts).unwrap();
    let out = score(&e, &recs, &mut ScoreCache::disabled("test"));
    let (r, m) = (&recs[3], out.signals[3].as_ref().unwrap());
    assert!(close(m.nll_y, direct(&e.model, "", r.output)), "alone: the whole response");
    assert!(
        m.nll_cz_ifd == m.nll_cz
            && close(m.nll_cz_head, direct_head(&e.model, &format!("{}\n", r.instruction), r.output, 3))
    );
    assert!((sift::judge::signals::ifd(m) - m.nll_cz / m.nll_y).abs() < 1e-6);
}

/// A passage longer than the context loses its start, not the instruction: the record is scored
/// as if its input were a word-aligned suffix of the passage, and the instruction still matters.
#[test]
fn a_passage_too_long_for_the_context_keeps_the_instruction() {
    let e = raw_engine();
    let m = &e.model;
    let passage: String = (0..60).map(|i| format!("Stone {i} lies near the river bank. ")).collect();
    let y = "The stones lie by the river.";
    assert!(m.encode(&passage).unwrap().len() > m.config.max_position_embeddings, "the fixture passage must overflow");
    let recs = vec![
        RecordText { instruction: "Summarize the text.", input: &passage, output: y },
        RecordText { instruction: "Count every animal named in the story below.", input: &passage, output: y },
    ];
    let out = score(&e, &recs, &mut ScoreCache::disabled("test"));
    let close = |a: f32, b: f32| (a - b).abs() < 1e-4 * b.abs().max(1.0);
    let mut nll = Vec::new();
    for r in &recs {
        let s = out.signals.iter().zip(&recs).find(|(_, x)| x.instruction == r.instruction).unwrap().0;
        let s = s.as_ref().unwrap();
        assert!(s.truncated);
        // Some suffix of the passage, starting at a word, with the instruction in front gives exactly
        // the engine's numbers, under the template and under the input alone.
        let context = |z: &str| format!("{}\n\n{z}\n", r.instruction);
        let fits = |z: &&str| m.encode(&context(z)).unwrap().len() + 20 < m.config.max_position_embeddings;
        let starts = (1..passage.len()).rev().filter(|&i| passage.as_bytes()[i - 1] == b' ');
        let fitting = starts
            .map(|i| &passage[i..])
            .take_while(fits)
            .find(|z| close(s.nll_cz, direct(m, &context(z), y)))
            .unwrap_or_else(|| panic!("no suffix of the passage after {:?} gives the engine's loss", r.instruction));
        assert!(close(s.nll_z, direct(m, &format!("{fitting}\n\n"), y)), "the input alone uses the same cut");
        assert!(!fits(&&passage[passage.len() - fitting.len() - 30..]), "the cut keeps about as much as fits");
        nll.push(s.nll_cz);
    }
    assert!((nll[0] - nll[1]).abs() > 1e-4, "the instruction is still in the context: {nll:?}");
}

#[test]
fn a_shared_prefix_cache_gives_the_same_losses_as_full_sequences() {
    let m = LocalModel::load(&common::tiny_llama()).unwrap();
    let v = m.config.vocab_size as u32;
    let prefix: Vec<u32> = (0..12).map(|i| (i * 37 + 5) % v).collect();
    let suffixes: Vec<Vec<u32>> =
        [9usize, 20, 14].iter().map(|&n| (0..n as u32).map(|i| (i * 53 + n as u32) % v).collect()).collect();
    let starts = [3usize, 1, 7];
    let full: Vec<Vec<u32>> = suffixes.iter().map(|s| [prefix.clone(), s.clone()].concat()).collect();
    let a = response_nll(
        &m.decoder,
        &full.iter().zip(starts).map(|(s, st)| (s.as_slice(), st + prefix.len())).collect::<Vec<_>>(),
        None,
    )
    .unwrap();
    let mut cache = m.decoder.new_cache();
    let ids = candle_core::Tensor::new(prefix.as_slice(), m.decoder.device()).unwrap().unsqueeze(0).unwrap();
    m.decoder.forward_step(&ids, &mut cache, 0).unwrap();
    let b = response_nll(
        &m.decoder,
        &suffixes.iter().zip(starts).map(|(s, st)| (s.as_slice(), st)).collect::<Vec<_>>(),
        Some(&cache),
    )
    .unwrap();
    assert_eq!(a.iter().map(Vec::len).collect::<Vec<_>>(), vec![6, 19, 7]);
    for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }
}

#[test]
fn alpaca_scores_under_the_shared_preamble_match_direct_scoring_with_the_bundled_model() {
    let root = tempfile::tempdir().unwrap();
    let m = LocalModel::load(&sift::model::bundled::unpack_bundled(root.path()).unwrap()).unwrap();
    let e = Engine::new(m, Template::Alpaca, EngineOptions { compare_tokens: 0, ..Default::default() }).unwrap();
    let recs = texts(&RECS);
    let out = score(&e, &recs, &mut ScoreCache::disabled("test"));
    for (r, s) in recs.iter().zip(&out.signals) {
        let s = s.as_ref().unwrap();
        let want = direct(&e.model, &alpaca_prompt(r.instruction, r.input), r.output);
        assert!((s.nll_cz - want).abs() < 1e-4 * want.max(1.0), "{r:?}: {} vs {want}", s.nll_cz);
        assert!(!s.truncated);
    }
}

/// The mean hidden state a suggestion could learn from is the response's alone, whatever the batch
/// or the shared preamble: it matches a direct pass over the whole prompt and response.
#[test]
fn response_means_average_the_response_positions_of_a_direct_pass() {
    let root = tempfile::tempdir().unwrap();
    let m = LocalModel::load(&sift::model::bundled::unpack_bundled(root.path()).unwrap()).unwrap();
    let e = Engine::new(m, Template::Alpaca, EngineOptions { batch_tokens: 64, ..Default::default() }).unwrap();
    let mut recs = texts(&RECS);
    recs.push(RecordText { instruction: "Say nothing.", input: "", output: "  " });
    let means = e.response_means(&recs, &AtomicBool::new(false)).unwrap().unwrap();
    assert!(means[RECS.len()].is_none(), "an empty response has no mean");
    for (r, got) in recs.iter().zip(&means).take(RECS.len()) {
        let got = got.as_ref().unwrap();
        let mut ids: Vec<u32> = e.model.config.bos_token_id.into_iter().collect();
        ids.extend(e.model.encode(&alpaca_prompt(r.instruction, r.input)).unwrap());
        let start = ids.len();
        ids.extend(e.model.encode(r.output).unwrap());
        let n = ids.len();
        let t = candle_core::Tensor::new(ids.as_slice(), e.model.decoder.device()).unwrap().unsqueeze(0).unwrap();
        let h = e.model.decoder.hidden_states(&t, Kernels::Fast).unwrap();
        let h = h.to_dtype(candle_core::DType::F32).unwrap().to_vec3::<f32>().unwrap().remove(0);
        assert_eq!(got.len(), e.model.config.hidden_size);
        for (k, &g) in got.iter().enumerate() {
            let want = h[start..n].iter().map(|row| row[k]).sum::<f32>() / (n - start) as f32;
            assert!((g - want).abs() < 1e-3 * want.abs().max(1.0), "{r:?} column {k}: {g} vs {want}");
        }
    }
}

/// Fields holding the placeholders themselves: every user of the Alpaca layout must put them in
/// as written (one-pass substitution), and training, judging, pretraining and "try it" must build
/// the same bytes.
#[test]
fn training_judging_and_try_it_build_the_same_prompt_for_hostile_text() {
    const HOSTILE: [(&str, &str, &str); 4] = [
        ("Explain {input} to me.", "Use {instruction} and {output}.", "Sure: {input}."),
        ("Repeat {instruction}", "", "{instruction}"),
        ("{output}", "{input}", "{response}"),
        ("Braces {{input}} and {in put}.", "{instruction", "ok"),
    ];
    let data: Vec<serde_json::Value> =
        HOSTILE.iter().map(|(c, z, y)| serde_json::json!({"instruction": c, "input": z, "output": y})).collect();
    let (_d, path) = temp_file("hostile.json", serde_json::to_string(&data).unwrap().as_bytes());
    let session = sift::session::Session::open(&path, &Default::default()).unwrap();
    let root = tempfile::tempdir().unwrap();
    let m = LocalModel::load(&sift::model::bundled::unpack_bundled(root.path()).unwrap()).unwrap();
    let e = Engine::new(m, Template::Alpaca, EngineOptions { compare_tokens: 0, ..Default::default() }).unwrap();
    let out = score(&e, &texts(&HOSTILE), &mut ScoreCache::disabled("test"));
    for (i, &(c, z, y)) in HOSTILE.iter().enumerate() {
        let want = if z.is_empty() {
            format!(
                "Below is an instruction that describes a task. Write a response that appropriately completes the \
                 request.\n\n### Instruction:\n{c}\n\n### Response:"
            )
        } else {
            format!(
                "Below is an instruction that describes a task, paired with an input that provides further context. \
                 Write a response that appropriately completes the request.\n\n### Instruction:\n{c}\n\n### \
                 Input:\n{z}\n\n### Response:"
            )
        };
        let rec = session.dataset().record(i).unwrap();
        let trained = sift::prompt::record_segments(&rec, session.dataset().format());
        assert_eq!(trained, vec![(want.clone(), false), (y.to_string(), true)], "training, record {i}");
        assert_eq!(Template::Alpaca.prompt(c, z).unwrap(), want, "judge, record {i}");
        assert_eq!(sift::prompt::try_it_prompt(c, z), want, "try it, record {i}");
        let pre = RecordTextBuf::new(c, z, y);
        assert_eq!(sift::train::pretrain::record_documents(&pre)[0], (want.clone(), y.to_string()), "pretraining");
        // What the model is actually given: the same tokens, and the judge's loss is the loss
        // of the response after the training prompt.
        let mut ids: Vec<u32> = e.model.config.bos_token_id.into_iter().collect();
        ids.extend(e.model.encode(&want).unwrap());
        assert_eq!(sift::train::try_it::prompt_ids(&e.model, c, z).unwrap(), ids, "try it tokens, record {i}");
        let s = out.signals[i].as_ref().unwrap();
        let direct = direct(&e.model, &want, y);
        assert!((s.nll_cz - direct).abs() < 1e-4 * direct.max(1.0), "judge loss, record {i}: {} vs {direct}", s.nll_cz);
    }
}

#[test]
fn batching_does_not_change_scores() {
    let recs = texts(&RECS);
    let a =
        score(&engine(EngineOptions { batch_tokens: 64, ..Default::default() }), &recs, &mut ScoreCache::disabled(""));
    let b = score(
        &engine(EngineOptions { batch_tokens: 1 << 14, ..Default::default() }),
        &recs,
        &mut ScoreCache::disabled(""),
    );
    for (x, y) in a.signals.iter().zip(&b.signals) {
        let (x, y) = (x.as_ref().unwrap(), y.as_ref().unwrap());
        assert!((x.nll_cz - y.nll_cz).abs() < 1e-4 && (x.nll_raw - y.nll_raw).abs() < 1e-4);
    }
}

#[test]
fn cache_hits_misses_and_incremental_rescoring() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(EngineOptions::default());
    let key = e.cache_key();
    let mut recs = texts(&RECS);
    let mut cache = ScoreCache::open(dir.path(), &key);
    assert_eq!(cache.report.loaded, 0);
    let first = score(&e, &recs, &mut cache);
    assert_eq!((first.scored, first.cached), (5, 0));
    drop(cache);
    // After an edit only the edited record is rescored, and every other result is identical.
    recs[2].output = "Five.";
    let mut cache = ScoreCache::open(dir.path(), &key);
    assert_eq!(cache.report.loaded, 5);
    let second = score(&e, &recs, &mut cache);
    assert_eq!((second.scored, second.cached), (1, 4));
    for i in [0, 1, 3, 4] {
        assert_eq!(first.signals[i], second.signals[i]);
    }
    assert_ne!(first.signals[2], second.signals[2]);
}

#[test]
fn corrupt_truncated_and_stale_caches_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(EngineOptions::default());
    let key = e.cache_key();
    let recs = texts(&RECS);
    let mut cache = ScoreCache::open(dir.path(), &key);
    score(&e, &recs, &mut cache);
    let path = cache.path().unwrap().to_path_buf();
    drop(cache);
    // Flip a digit inside one entry and tear the last line.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replacen("\"nll_cz\":", "\"nll_cz\":1", 1);
    let last = lines.pop().unwrap();
    let damaged = format!("{}\n{}", lines.join("\n"), &last[..last.len() / 2]);
    std::fs::write(&path, damaged).unwrap();
    let mut cache = ScoreCache::open(dir.path(), &key);
    assert_eq!((cache.report.loaded, cache.report.dropped), (3, 2));
    let again = score(&e, &recs, &mut cache);
    assert_eq!((again.scored, again.cached), (2, 3));
    // The rewritten file verifies cleanly.
    assert_eq!(
        ScoreCache::open(dir.path(), &key).report,
        sift::judge::cache::CacheReport { loaded: 5, ..Default::default() }
    );
    // Garbage and a header from another version are not trusted.
    std::fs::write(&path, b"\x00\xffnot a cache\n0000 1111 {}\n").unwrap();
    let c = ScoreCache::open(dir.path(), &key);
    assert!(c.report.rebuilt.is_some() && c.is_empty());
    // A different model or template never sees these entries.
    let other = CacheKey { template: "raw".into(), ..key.clone() };
    assert!(ScoreCache::open(dir.path(), &other).is_empty());
    // An unusable directory turns the cache off instead of failing.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let off = ScoreCache::open(&file, &key);
    assert!(off.report.disabled.is_some());
    let mut off = off;
    assert_eq!(score(&e, &recs, &mut off).scored, 5);
}

#[test]
fn cancel_stops_between_chunks_and_events_stream() {
    let e = engine(EngineOptions { chunk_records: 1, ..Default::default() });
    let recs = texts(&RECS);
    let cancel = AtomicBool::new(false);
    let mut seen = vec![];
    let out = e
        .score(&recs, &mut ScoreCache::disabled(""), &cancel, &mut |ev| {
            if let ScoreEvent::Scored { position, .. } = ev {
                seen.push(position);
                if seen.len() == 2 {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        })
        .unwrap();
    assert!(out.cancelled);
    assert_eq!(out.scored, 2);
    assert_eq!(seen, vec![0, 1]);
    assert!(out.signals[2..].iter().all(Option::is_none));
}

#[test]
fn background_scoring_reports_done_and_skips_empty_responses() {
    let e = std::sync::Arc::new(engine(EngineOptions::default()));
    let recs: Vec<sift::dataset::RecordTextBuf> = [("Say hi.", "", "Hi!"), ("Say nothing.", "", "  ")]
        .iter()
        .map(|&(a, b, c)| sift::dataset::RecordTextBuf::new(a, b, c))
        .collect();
    let rx = sift::judge::spawn(e, recs, None, Default::default());
    let events: Vec<ScoreEvent> = rx.iter().collect();
    assert!(matches!(events.last(), Some(ScoreEvent::Done { scored: 1, cached: 0, cancelled: false })));
    let scored: Vec<(usize, bool)> = events
        .iter()
        .filter_map(|e| match e {
            ScoreEvent::Scored { position, signals, .. } => Some((*position, signals.is_some())),
            _ => None,
        })
        .collect();
    assert!(scored.contains(&(1, false)) && scored.contains(&(0, true)));
}

#[test]
fn sift_score_writes_one_object_per_record_in_order() {
    let jsonl: String = RECS
        .iter()
        .map(|(i, z, y)| serde_json::json!({"instruction": i, "input": z, "output": y}).to_string() + "\n")
        .collect::<String>()
        + "{\"instruction\": \"Empty.\", \"input\": \"\", \"output\": \"\"}\n";
    let (dir, path) = temp_file("d.jsonl", jsonl.as_bytes());
    let out = dir.path().join("scores.jsonl");
    // empty_response is off by default (never measured on the curator labels): the config turns it on.
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[judge]\n\n[flags]\nenabled = [\"empty_response\"]\n").unwrap();
    let run = sift()
        .args([
            "score",
            path.to_str().unwrap(),
            "--model",
            common::tiny_llama().to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .env("SIFT_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 6);
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["index"], i);
        for k in ["continuation", "keep", "ifd", "ppl", "flags", "template", "model"] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["template"], "alpaca");
    }
    assert!(lines[0]["nll_cz"].as_f64().unwrap() > 0.0 && lines[0]["instruction_gain"].is_number());
    assert!(lines[5]["ifd"].is_null());
    assert!(lines[5]["flags"].as_array().unwrap().iter().any(|f| f == "empty_response"));
    // Without --model and SIFT_MODEL the bundled model scores; --select scores a subset.
    let cache = tempfile::tempdir().unwrap();
    let run = sift()
        .args(["score", path.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()])
        .env_remove("SIFT_MODEL")
        .env("SIFT_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let first: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().lines().next().unwrap()).unwrap();
    assert!(first["ppl"].as_f64().unwrap() > 1.0 && first["continuation"].is_number());
    let run = sift()
        .args(["score", path.to_str().unwrap(), "--select", "1,3-4", "-q", "--no-cache"])
        .args(["--out", out.to_str().unwrap(), "--template", "raw"])
        .env("SIFT_MODEL", common::tiny_llama())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let idx: Vec<u64> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, vec![1, 3, 4]);
}

/// `sift score` reads the same judge settings as the TUI: config.toml's `[judge]` table, or a
/// `--config` file shaped either as config.toml or as the judge's tables alone. A file that sets
/// nothing the judge reads is an error, not silently the defaults.
#[test]
fn sift_score_reads_the_judge_settings_of_config_toml_or_of_a_config_file() {
    let jsonl: String = RECS
        .iter()
        .map(|(i, z, y)| serde_json::json!({"instruction": i, "input": z, "output": y}).to_string() + "\n")
        .collect();
    let (dir, path) = temp_file("d.jsonl", jsonl.as_bytes());
    let out = dir.path().join("scores.jsonl");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // config.toml turns the continuation flag on (off by default: below the precision contract) and
    // flags every record as a continuation (threshold 0); a --config file flags none.
    // Its [keys] table names no command: the TUI refuses it, scoring never reads it.
    let app = write(
        "config.toml",
        "[options]\nauto_advance = false\n[keys]\nfly = \"z\"\n[judge.flags]\ncontinuation = 0.0\nenabled = [\"continuation\"]\n",
    );
    let run_with = |app: &std::path::Path, config: Option<&std::path::Path>| {
        let mut cmd = sift();
        cmd.args(["score", path.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()])
            .args(["--model", common::tiny_llama().to_str().unwrap()])
            .env("SIFT_CACHE_DIR", dir.path().join("cache"))
            .env("SIFT_CONFIG", app);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let o = cmd.output().unwrap();
        let flagged = o.status.success().then(|| {
            std::fs::read_to_string(&out)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .filter(|v| v["flags"].as_array().unwrap().iter().any(|f| f == "continuation"))
                .count()
        });
        (flagged, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let run = |config: Option<&std::path::Path>| run_with(&app, config);
    assert_eq!(run(None).0, Some(RECS.len()), "config.toml's [judge] table applies without --config");
    let none = Some(0);
    assert_eq!(
        run(Some(&write("app.toml", "[judge.flags]\ncontinuation = 1.01\nenabled = [\"continuation\"]\n"))).0,
        none,
        "config.toml-shaped"
    );
    assert_eq!(run(Some(&write("judge.toml", "[flags]\ncontinuation = 1.01\n"))).0, none, "judge tables alone");
    let (flagged, err) = run(Some(&write("typo.toml", "[judgement.flags]\ncontinuation = 0.0\n")));
    assert!(flagged.is_none() && err.contains("sets no judge settings"), "{err}");
    // A SIFT_CONFIG naming no file is an error, not silently the defaults.
    let (flagged, err) = run_with(&dir.path().join("missing.toml"), None);
    assert!(flagged.is_none() && err.contains("SIFT_CONFIG") && err.contains("missing.toml"), "{err}");
}

fn rec(i: &str, z: &str, y: &str) -> RecordTextBuf {
    RecordTextBuf { instruction: i.into(), input: z.into(), output: y.into() }
}

#[test]
fn dev_set_pairs_genuine_records_with_next_sentence_continuations() {
    let passage = "Bees are flying insects. They pollinate many crops and wild plants. Honey bees live in large \
                   colonies. A colony has one queen. Workers gather nectar and pollen.";
    let mut records =
        vec![rec("Summarize the passage.", passage, "Bees are insects that pollinate plants and live in colonies.")];
    records.extend((1..25).map(|k| rec("Summarize.", passage, &"x".repeat(40 + k))));
    records.push(rec("Short input.", "One sentence only.", "Fine."));
    let eval = devset::build_paired(&records, Split::Eval);
    assert_eq!(eval.len(), 4, "indices 0 and 20 are in the eval split");
    assert_eq!((eval[0].source, eval[2].source), (0, 20));
    let (g, c) = (&eval[0], &eval[1]);
    assert!(!g.continuation && c.continuation && g.source == 0 && c.source == 0);
    assert_eq!(*g.output, *records[0].output);
    // The continuation copy: input is a prefix of the passage, output the sentences right after it.
    assert!(passage.starts_with(&c.input));
    let rest = passage[c.input.len()..].trim_start();
    assert!(rest.starts_with(&c.output), "{:?} / {:?}", c.input, c.output);
    let ratio = c.output.len() as f64 / g.output.len() as f64;
    assert!((devset::LENGTH_RATIO.0..=devset::LENGTH_RATIO.1).contains(&ratio));
    let train = devset::build_paired(&records, Split::Train);
    assert!(train.iter().all(|d| d.source % 20 != 0));
    assert!(!train.is_empty() && train.len() <= 2 * 23, "index 20 is eval, index 25 has one sentence");

    // On the real Alpaca file: only index % 20 == 0 records, every copy continues its passage.
    let path = shared("alpaca/alpaca_data.json");
    if let Ok(bytes) = std::fs::read(&path) {
        let all: Vec<RecordTextBuf> = serde_json::from_slice(&bytes).unwrap();
        let dev = devset::build(&all, Split::Eval);
        assert!(dev.len() >= 40, "dev set too small: {}", dev.len());
        assert!(dev.iter().all(|d| d.source % 20 == 0));
        for pair in dev.chunks(2) {
            let (copy, genuine) = (&pair[0], &pair[1]);
            assert!(copy.continuation && !genuine.continuation && copy.source != genuine.source);
            let src = &all[copy.source];
            assert!(src.input.trim().starts_with(&copy.input));
            let rest = src.input.trim()[copy.input.len()..].trim_start();
            assert!(rest.starts_with(&copy.output), "the copy's response is the passage's next sentences");
            let g = &all[genuine.source];
            assert_eq!((&*g.input, &*g.output), (&*genuine.input, &*genuine.output));
        }
    }
}

#[test]
fn a_model_path_that_is_not_a_model_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let e = format!("{:#}", LocalModel::load(d.path()).err().expect("an empty folder is not a model"));
    assert!(e.contains(&d.path().display().to_string()) && e.contains("config.json"), "{e}");
}

/// The records of a conversation fixture (`tests/fixtures/conversations`).
fn conversations(name: &str, format: sift::dataset::Format) -> Vec<sift::dataset::Record> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conversations").join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| sift::dataset::format::decode(format, l.as_bytes()).record)
        .collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4 * b.abs().max(1.0)
}

/// Only the `repetitive` model flag on: a text measure, so the tiny model's numbers do not decide
/// which turn is worst.
fn repetitive_only() -> sift::judge::JudgeConfig {
    let flags = sift::judge::ModelFlagConfig { enabled: vec!["repetitive".into()], ..Default::default() };
    sift::judge::JudgeConfig { flags, ..Default::default() }
}

#[test]
fn every_assistant_turn_is_scored_under_its_history_and_the_record_carries_the_worst() {
    use sift::dataset::Format;
    use sift::judge::{assess_record, judgeable};
    let e = raw_engine();
    for (file, format, turns, bad) in [
        ("sharegpt_bad_middle.jsonl", Format::ShareGpt, vec![1, 3, 5], 3),
        ("openai_tools.jsonl", Format::OpenAi, vec![2, 4, 6], 4),
    ] {
        let rec = &conversations(file, format)[0];
        let j = judgeable(rec);
        assert_eq!(j.responses.iter().map(|r| r.turn.unwrap()).collect::<Vec<_>>(), turns, "{file}");
        let (items, _) = sift::judge::turns::items([&j]);
        let out =
            e.score_items(&items, &mut ScoreCache::disabled("test"), &AtomicBool::new(false), &mut |_| {}).unwrap();
        for (r, m) in j.responses.iter().zip(&out.signals) {
            let m = m.as_ref().unwrap();
            let ctx = r.context.as_deref().unwrap();
            // The context is the trainer's: every earlier turn in the conversation layout.
            let i = r.turn.unwrap();
            assert!(ctx.ends_with(&format!("### User:\n{}\n\n### Assistant:\n", rec.turns[i - 1].text)), "{ctx:?}");
            if i > 2 {
                assert!(ctx.contains(&format!("### Assistant:\n{}\n\n", rec.turns[i - 2].text)), "{ctx:?}");
            }
            if !m.truncated {
                assert!(close(m.nll_cz, direct(&e.model, ctx, &r.output)), "{file} turn {i}: {} vs direct", m.nll_cz);
            }
        }
        let refs: Vec<_> = out.signals.iter().map(Option::as_ref).collect();
        let a = assess_record(&j, &refs, &[], &repetitive_only());
        assert_eq!(a.turn, Some(bad), "{file}: {:?}", a.flags);
        let f = a.flags.iter().find(|f| f.name == "repetitive").expect("the middle turn repeats itself");
        assert!(f.reason.starts_with(&format!("turn {bad}: ")), "{}", f.reason);
        assert!(a.signals.unwrap().repetition > 0.8);
    }
}

#[test]
fn a_reply_after_another_history_is_measured_again() {
    let e = raw_engine();
    let dir = tempfile::tempdir().unwrap();
    let recs = conversations("sharegpt_bad_middle.jsonl", sift::dataset::Format::ShareGpt);
    let js: Vec<_> = recs.iter().map(sift::judge::judgeable).collect();
    // The last turns read "Oak." in both records, after different histories.
    assert_eq!(js[0].responses[2].output, js[1].responses[2].output);
    assert_ne!(js[0].responses[2].item().hash(), js[1].responses[2].item().hash());
    let run = |j: &sift::judge::Judgeable| {
        let mut cache = ScoreCache::open(dir.path(), &e.cache_key());
        let (items, _) = sift::judge::turns::items([j]);
        e.score_items(&items, &mut cache, &AtomicBool::new(false), &mut |_| {}).unwrap()
    };
    let first = run(&js[0]);
    assert_eq!((first.scored, first.cached), (3, 0));
    let again = run(&js[0]);
    assert_eq!((again.scored, again.cached), (0, 3));
    assert_eq!(again.signals, first.signals);
    // Only the first turn ("Name a colour." with no history) is shared... and it is answered differently.
    let other = run(&js[1]);
    assert_eq!((other.scored, other.cached), (3, 0));
    assert_ne!(other.signals[2], first.signals[2], "same reply, other history, other losses");
}

#[test]
fn tool_calls_are_checked_and_tool_results_skipped_never_scored_as_prose() {
    use sift::judge::{assess_record, judgeable};
    let recs = conversations("openai_tools.jsonl", sift::dataset::Format::OpenAi);
    let broken = judgeable(&recs[1]);
    assert_eq!(broken.responses.iter().map(|r| r.turn).collect::<Vec<_>>(), vec![Some(3)]);
    assert_eq!(broken.flags.len(), 1);
    let f = &broken.flags[0];
    assert_eq!(f.name, "bad_tool_call");
    assert!(
        f.reason
            .starts_with("turn 1: the arguments of the call to `get_weather` are not valid JSON (EOF while parsing"),
        "{}",
        f.reason
    );
    assert!(broken.notes.iter().any(|n| n.starts_with("turn 2: skipped: tool result")), "{:?}", broken.notes);
    let fine = judgeable(&recs[2]);
    assert!(fine.flags.is_empty());
    assert!(
        fine.notes
            .iter()
            .any(|n| n == "turn 1: skipped: tool call to `get_weather`, arguments valid JSON (not scored as prose)"),
        "{:?}",
        fine.notes
    );
    // The flag and the notes reach the record's assessment, beside the scored turn's signals.
    let e = raw_engine();
    let (items, _) = sift::judge::turns::items([&broken]);
    let out = e.score_items(&items, &mut ScoreCache::disabled("test"), &AtomicBool::new(false), &mut |_| {}).unwrap();
    let refs: Vec<_> = out.signals.iter().map(Option::as_ref).collect();
    let a = assess_record(&broken, &refs, &[], &repetitive_only());
    assert_eq!(a.turn, Some(3));
    assert!(a.flags.iter().any(|f| f.name == "bad_tool_call") && a.signals.is_some());
    assert_eq!(a.notes, broken.notes);
}

#[test]
fn sift_score_names_the_turn_of_a_conversation() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conversations");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[judge.flags]\nenabled = [\"repetitive\"]\n\n[flags]\n").unwrap();
    let score = |name: &str| -> Vec<serde_json::Value> {
        let out = dir.path().join(format!("{name}.scores"));
        let run = sift()
            .arg("score")
            .arg(fixtures.join(name))
            .args(["--model", common::tiny_llama().to_str().unwrap(), "--template", "raw", "-q"])
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .env("SIFT_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let sg = score("sharegpt_bad_middle.jsonl");
    assert_eq!(sg[0]["turn"], 3);
    // The degenerate turn is word noise to the model-free check (on by default) and repetition to the model.
    assert_eq!(sg[0]["flags"], serde_json::json!(["noise", "repetitive"]));
    let noise = sg[0]["reasons"]["noise"].as_str().unwrap();
    assert!(noise.contains("\"apple\" 12 times in a row"), "{noise}");
    let reason = sg[0]["reasons"]["repetitive"].as_str().unwrap();
    assert!(reason.starts_with("turn 3: ") && reason.contains("repeats"), "{reason}");
    assert!(sg[0]["repetition"].as_f64().unwrap() > 0.8, "the record carries its worst turn's signals");
    assert_eq!(sg[0]["turns"].as_array().unwrap().len(), 3);
    assert_eq!(sg[1]["flags"], serde_json::json!([]));
    let oa = score("openai_tools.jsonl");
    assert_eq!(oa[0]["turn"], 4);
    assert!(oa[1]["flags"].as_array().unwrap().iter().any(|f| f == "bad_tool_call"), "{}", oa[1]);
    let why = oa[1]["reasons"]["bad_tool_call"].as_str().unwrap();
    assert!(why.starts_with("turn 1: the arguments of the call to `get_weather` are not valid JSON"), "{why}");
    let notes = oa[1]["turn_notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().starts_with("turn 2: skipped: tool result")), "{notes:?}");
    assert!(oa[2]["flags"].as_array().unwrap().is_empty(), "{}", oa[2]);
    assert_eq!(oa[2]["turn"], 3);
}
