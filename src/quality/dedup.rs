//! Exact and near-duplicate prompts across a dataset.
//!
//! Exact: instruction + input with case and whitespace normalised, hashed with xxh3-128. Near:
//! MinHash signatures over word shingles, LSH banding to find candidate pairs, and the true Jaccard
//! similarity of the shingle sets to confirm them. The first occurrence is kept unflagged; every
//! later record is flagged against the earliest record it duplicates, so output is deterministic.

use super::heuristics::{Flag, FlagConfig, FlagKind};
use super::text::{snippet, word_spans};
use crate::dataset::RecordText;
use crate::rng::mix;
use rayon::prelude::*;
use std::collections::HashMap;
use xxhash_rust::xxh3::{xxh3_64_with_seed, xxh3_128};

/// A later member of a large LSH bucket is compared with at most this many earlier members.
const MAX_BUCKET_PEERS: usize = 8;

/// Duplicate and NearDuplicate flags, one `Vec` per record in input order. Reasons name the earlier
/// record by its 0-based index, e.g. "same instruction as #812".
pub fn duplicate_flags(texts: &[RecordText], cfg: &FlagConfig) -> Vec<Vec<Flag>> {
    let mut flags = vec![Vec::new(); texts.len()];
    let exact = exact_duplicates(texts);
    if cfg.is_enabled(FlagKind::Duplicate) {
        for (j, first) in exact.iter().enumerate() {
            if let Some(i) = *first {
                let what = if texts[j].input.trim().is_empty() { "instruction" } else { "instruction and input" };
                flags[j].push(Flag::new(FlagKind::Duplicate, format!("same {what} as #{i}")));
            }
        }
    }
    if cfg.is_enabled(FlagKind::NearDuplicate) {
        for (j, i, jac) in near_duplicates(texts, &exact, cfg) {
            let quoted = snippet(texts[i].instruction, 50, false);
            let reason = format!("near-duplicate of #{i} (Jaccard {jac:.2}): \"{quoted}\"");
            flags[j].push(Flag::new(FlagKind::NearDuplicate, reason));
        }
    }
    flags
}

/// Instruction and input lowercased with runs of whitespace collapsed, joined by a NUL.
fn exact_key(rec: &RecordText) -> String {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    format!("{}\0{}", norm(rec.instruction), norm(rec.input))
}

/// For each record, the earliest earlier record with the same normalised prompt.
fn exact_duplicates(texts: &[RecordText]) -> Vec<Option<usize>> {
    let hashes: Vec<u128> = texts.par_iter().map(|t| xxh3_128(exact_key(t).as_bytes())).collect();
    let mut first: HashMap<u128, usize> = HashMap::with_capacity(texts.len());
    hashes
        .iter()
        .enumerate()
        .map(|(j, h)| {
            let i = *first.entry(*h).or_insert(j);
            (i != j).then_some(i)
        })
        .collect()
}

/// Appends a hash of each lowercased word (alphanumeric run) of `s` to `out`.
fn word_hashes(s: &str, buf: &mut String, out: &mut Vec<u64>) {
    for w in word_spans(s) {
        buf.clear();
        buf.extend(w.chars().flat_map(char::to_lowercase));
        out.push(xxh3_64_with_seed(buf.as_bytes(), 0x5155));
    }
}

/// Sorted, deduplicated `v`.
fn into_set(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v.dedup();
    v
}

/// A prompt's hashed word shingles (all its words as one shingle when shorter than `k`) and its
/// instruction's word set, both sorted and deduplicated.
fn sketch(rec: &RecordText, k: usize) -> (Vec<u64>, Vec<u64>) {
    let (mut buf, mut w) = (String::new(), Vec::new());
    word_hashes(rec.instruction, &mut buf, &mut w);
    let instr = into_set(w.clone());
    word_hashes(rec.input, &mut buf, &mut w);
    if w.is_empty() {
        return (Vec::new(), instr);
    }
    let k = k.clamp(1, w.len());
    let shingles = w.windows(k).map(|g| g.iter().fold(0u64, |h, &x| mix(h.rotate_left(23) ^ x))).collect();
    (into_set(shingles), instr)
}

/// One LSH key per band from a MinHash signature of `sh` with `bands * rows` seeded permutations.
fn band_keys(sh: &[u64], seeds: &[u64], rows: usize) -> Vec<u64> {
    let sig: Vec<u64> = seeds.iter().map(|&s| sh.iter().map(|&x| mix(x ^ s)).min().unwrap_or(u64::MAX)).collect();
    sig.chunks(rows)
        .enumerate()
        .map(|(b, rows)| {
            let bytes: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
            xxh3_64_with_seed(&bytes, b as u64)
        })
        .collect()
}

/// Jaccard similarity of two sorted, deduplicated sets.
fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let shared = super::text::sorted_shared(a, b);
    let union = a.len() + b.len() - shared;
    if union == 0 { 0.0 } else { shared as f64 / union as f64 }
}

/// `(later, earlier, jaccard)` for each record that is a near duplicate of an earlier one (exact
/// duplicates excluded), the earlier being the smallest confirmed candidate index. A pair is confirmed
/// when the prompts' shingle Jaccard reaches `near_dup_threshold` and their instructions share enough
/// words (`near_dup_min_instruction_overlap`), so one passage under two different tasks is no pair.
fn near_duplicates(texts: &[RecordText], exact: &[Option<usize>], cfg: &FlagConfig) -> Vec<(usize, usize, f64)> {
    let bands = cfg.lsh_bands.max(1);
    let rows = (cfg.minhash_permutations / bands).max(1);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let seeds: Vec<u64> = (0..bands * rows)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            mix(state)
        })
        .collect();
    let (sets, instr_sets): (Vec<Vec<u64>>, Vec<Vec<u64>>) = texts
        .par_iter()
        .zip(exact)
        .map(|(t, dup)| match dup {
            None => sketch(t, cfg.shingle_words),
            Some(_) => Default::default(),
        })
        .unzip();
    let keys: Vec<Vec<u64>> =
        sets.par_iter().map(|s| if s.is_empty() { Vec::new() } else { band_keys(s, &seeds, rows) }).collect();
    let live: Vec<u32> = (0..texts.len() as u32).filter(|&i| !keys[i as usize].is_empty()).collect();
    let mut pairs: Vec<(u32, u32)> = (0..bands)
        .into_par_iter()
        .flat_map_iter(|b| {
            let mut col: Vec<(u64, u32)> = live.iter().map(|&i| (keys[i as usize][b], i)).collect();
            col.sort_unstable();
            let mut out = Vec::new();
            for bucket in col.chunk_by(|x, y| x.0 == y.0).filter(|c| c.len() > 1) {
                for (pos, &(_, j)) in bucket.iter().enumerate().skip(1) {
                    out.extend(bucket[..pos.min(MAX_BUCKET_PEERS)].iter().map(|&(_, i)| (j, i)));
                }
            }
            out
        })
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    let groups: Vec<&[(u32, u32)]> = pairs.chunk_by(|x, y| x.0 == y.0).collect();
    groups
        .par_iter()
        .filter_map(|g| {
            let j = g[0].0 as usize;
            g.iter().find_map(|&(_, i)| {
                let i = i as usize;
                let jac = jaccard(&sets[i], &sets[j]);
                let same_task = || jaccard(&instr_sets[i], &instr_sets[j]) >= cfg.near_dup_min_instruction_overlap;
                (jac >= cfg.near_dup_threshold && same_task()).then_some((j, i, jac))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(instruction: &str) -> RecordText<'_> {
        RecordText { instruction, input: "", output: "ok" }
    }

    fn kinds(flags: &[Vec<Flag>]) -> Vec<Vec<FlagKind>> {
        flags.iter().map(|f| f.iter().map(|x| x.kind).collect()).collect()
    }

    #[test]
    fn exact_duplicates_ignore_case_and_whitespace() {
        let texts =
            [rec("Name three primary colors."), rec("Explain photosynthesis."), rec("  name three   PRIMARY colors. ")];
        let flags = duplicate_flags(&texts, &FlagConfig::all_enabled());
        assert_eq!(kinds(&flags), vec![vec![], vec![], vec![FlagKind::Duplicate]]);
        assert_eq!(flags[2][0].reason, "same instruction as #0");
    }

    #[test]
    fn input_is_part_of_the_key() {
        let a = RecordText { instruction: "Translate to French.", input: "Good morning", output: "Bonjour" };
        let b = RecordText { instruction: "Translate to French.", input: "Good night", output: "Bonne nuit" };
        let c = RecordText { input: "good  morning", ..a };
        let flags = duplicate_flags(&[a, b, c], &FlagConfig::all_enabled());
        assert_eq!(kinds(&flags), vec![vec![], vec![], vec![FlagKind::Duplicate]]);
        assert_eq!(flags[2][0].reason, "same instruction and input as #0");
    }

    #[test]
    fn near_duplicates_found_and_distinct_prompts_kept() {
        let long = "Write a short paragraph that explains to a ten year old why the sky looks blue \
                    during the day but turns red and orange around sunset";
        let variant = long.replace("short", "brief").replace("sunset", "dusk");
        let texts = [
            rec(long),
            rec("What is the capital of France?"),
            rec("What is the capital of Spain?"),
            rec(&variant),
            rec(
                "Write a short paragraph that explains, to a ten-year-old, why the sky looks blue during the day but turns red and orange around sunset!",
            ),
        ];
        let flags = duplicate_flags(&texts, &FlagConfig::all_enabled());
        assert_eq!(kinds(&flags), vec![vec![], vec![], vec![], vec![], vec![FlagKind::NearDuplicate]]);
        assert!(flags[4][0].reason.starts_with("near-duplicate of #0 (Jaccard 1.00)"));
        let loose = FlagConfig { near_dup_threshold: 0.7, ..FlagConfig::all_enabled() };
        let flags = duplicate_flags(&texts, &loose);
        assert_eq!(flags[3].len(), 1, "{:?}", flags[3]);
        assert!(flags[3][0].reason.starts_with("near-duplicate of #0"));
    }

    #[test]
    fn disabled_kinds_are_not_reported() {
        let texts = [rec("Say hi."), rec("say hi.")];
        let cfg = FlagConfig { enabled: vec![FlagKind::NearDuplicate], ..FlagConfig::all_enabled() };
        assert!(duplicate_flags(&texts, &cfg).iter().all(Vec::is_empty));
    }

    #[test]
    fn jaccard_of_sets() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard(&[], &[]), 0.0);
    }

    #[test]
    fn many_similar_records_are_deterministic_and_bounded() {
        let prompts: Vec<String> = (0..3000)
            .map(|i| format!("Generate a secure random password for user number {} today please", i % 1500))
            .collect();
        let texts: Vec<RecordText> = prompts.iter().map(|p| rec(p)).collect();
        let a = duplicate_flags(&texts, &FlagConfig::all_enabled());
        let b = duplicate_flags(&texts, &FlagConfig::all_enabled());
        assert_eq!(a, b);
        assert!(a[..1500].iter().all(|f| f.iter().all(|x| x.kind != FlagKind::Duplicate)));
        assert!(a[1500..].iter().all(|f| f.iter().any(|x| x.kind == FlagKind::Duplicate)));
    }
}
