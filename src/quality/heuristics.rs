//! Model-free flags over one record's texts: empty or copied responses, refusals, truncation,
//! placeholders, other modalities, merged tasks, odd lengths and noise. Duplicates are found across a
//! dataset by [`super::dedup`].

use super::phrases;
use super::text::{contains_any, find_any, fold, folded, has_phrase, is_list_item, looks_like_code, snippet, words};
use serde::{Deserialize, Serialize};

/// The three texts of a record the heuristics read. For a conversation, `output` is the last
/// assistant turn and `instruction` the user turn before it.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordText<'a> {
    pub instruction: &'a str,
    pub input: &'a str,
    pub output: &'a str,
}

/// The kinds of defect sift flags without a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    EmptyResponse,
    CopiesPrompt,
    Refusal,
    Truncated,
    Placeholder,
    NeedsModality,
    MergedInstructions,
    LengthRatio,
    Duplicate,
    NearDuplicate,
    Noise,
}

impl FlagKind {
    /// Every kind, in display order.
    pub const ALL: [FlagKind; 11] = [
        FlagKind::EmptyResponse,
        FlagKind::CopiesPrompt,
        FlagKind::Refusal,
        FlagKind::Truncated,
        FlagKind::Placeholder,
        FlagKind::NeedsModality,
        FlagKind::MergedInstructions,
        FlagKind::LengthRatio,
        FlagKind::Duplicate,
        FlagKind::NearDuplicate,
        FlagKind::Noise,
    ];

    /// Stable snake_case name, as used in configs, labels and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            FlagKind::EmptyResponse => "empty_response",
            FlagKind::CopiesPrompt => "copies_prompt",
            FlagKind::Refusal => "refusal",
            FlagKind::Truncated => "truncated",
            FlagKind::Placeholder => "placeholder",
            FlagKind::NeedsModality => "needs_modality",
            FlagKind::MergedInstructions => "merged_instructions",
            FlagKind::LengthRatio => "length_ratio",
            FlagKind::Duplicate => "duplicate",
            FlagKind::NearDuplicate => "near_duplicate",
            FlagKind::Noise => "noise",
        }
    }

    /// The kind whose [`name`](Self::name) is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// One-line explanation of what the flag means.
    pub fn explanation(self) -> &'static str {
        match self {
            FlagKind::EmptyResponse => "the response is empty or only whitespace",
            FlagKind::CopiesPrompt => "the response repeats the instruction or the input",
            FlagKind::Refusal => "the response refuses or carries AI-assistant boilerplate",
            FlagKind::Truncated => "the response stops mid-sentence or leaves a block unclosed",
            FlagKind::Placeholder => "a field holds a placeholder such as <noinput> or N/A",
            FlagKind::NeedsModality => "the task needs an image, audio, video, file or web page",
            FlagKind::MergedInstructions => "the instruction bundles several unrelated tasks",
            FlagKind::LengthRatio => "the response length does not fit what was asked",
            FlagKind::Duplicate => "the same instruction and input occur earlier in the dataset",
            FlagKind::NearDuplicate => "a nearly identical instruction occurs earlier",
            FlagKind::Noise => "a field contains symbol noise, mojibake or control characters",
        }
    }
}

impl std::fmt::Display for FlagKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding on a record: its kind and a specific one-line reason for the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub kind: FlagKind,
    pub reason: String,
}

impl Flag {
    pub(crate) fn new(kind: FlagKind, reason: impl Into<String>) -> Self {
        Flag { kind, reason: reason.into() }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Thresholds, phrase lists and toggles for every flag. Every field has a default, so a config file
/// names only what it changes. Phrase lists match case-insensitively at word boundaries.
#[derive(Deserialize, Serialize, Clone, Debug)]
#[serde(default)]
pub struct FlagConfig {
    /// Kinds that are reported; others are skipped.
    pub enabled: Vec<FlagKind>,
    /// CopiesPrompt: word-bigram overlap (of the longer side) at which a response counts as a copy.
    pub copy_overlap: f64,
    /// CopiesPrompt: responses shorter than this many words are never called copies.
    pub copy_min_words: usize,
    /// Refusal: phrases flagged anywhere in the response.
    pub refusal_phrases: Vec<String>,
    /// Refusal: apologies flagged only when the response opens with them.
    pub refusal_openings: Vec<String>,
    /// Refusal: instruction words meaning the response may legitimately speak in character
    /// (a declining letter), which silence `refusal_openings`.
    pub refusal_roleplay_cues: Vec<String>,
    /// Extra phrases appended to `refusal_phrases` (extend without restating the defaults).
    pub extra_refusal_phrases: Vec<String>,
    /// Truncated: responses with fewer words are never called truncated (labels, numbers).
    pub truncation_min_words: usize,
    /// Truncated: a final prose paragraph this long without end punctuation is truncated.
    pub truncation_long_prose_words: usize,
    /// Placeholder: whole-field values (compared ignoring case, spaces and punctuation other than '/').
    pub placeholder_values: Vec<String>,
    /// Placeholder: markers flagged anywhere in a field.
    pub placeholder_markers: Vec<String>,
    /// NeedsModality: phrases in the instruction or input that point at non-text material.
    pub modality_phrases: Vec<String>,
    /// NeedsModality: instruction verbs meaning a URL in the prompt must be opened.
    pub url_open_cues: Vec<String>,
    /// LengthRatio: first words of an instruction that produces text (with `long_ask_nouns`).
    pub long_ask_verbs: Vec<String>,
    /// LengthRatio: long-form genres ("essay", "letter") that, after a `long_ask_verbs` opening,
    /// ask for long text.
    pub long_ask_nouns: Vec<String>,
    /// LengthRatio: first words that ask for an explanation, long-form on their own.
    pub explain_verbs: Vec<String>,
    /// LengthRatio: cues that cap the length ("in one sentence"), cancelling a long-form ask.
    pub brevity_cues: Vec<String>,
    /// LengthRatio: a long-form ask answered in fewer words is flagged.
    pub long_ask_min_words: usize,
    /// LengthRatio: first words of an instruction asking for a label.
    pub short_ask_verbs: Vec<String>,
    /// LengthRatio: cues anywhere in the instruction asking for a short answer (yes/no, a count).
    pub short_ask_cues: Vec<String>,
    /// LengthRatio: a short ask answered with more words than this ...
    pub short_ask_max_words: usize,
    /// LengthRatio: ... and more than this many times the prompt's words is flagged.
    pub max_length_ratio: f64,
    /// Noise: largest fraction of non-space characters that may be symbols (not letters, digits or
    /// sentence punctuation) in a prose field of at least 20 characters.
    pub noise_max_symbol_fraction: f64,
    /// Noise: longest allowed run of one repeated character (digits and rule characters exempt).
    pub noise_max_char_run: usize,
    /// Noise: longest allowed run of one repeated word.
    pub noise_max_word_repeat: usize,
    /// NearDuplicate: Jaccard similarity of word shingles at which two prompts are near duplicates.
    pub near_dup_threshold: f64,
    /// NearDuplicate: least Jaccard similarity of the two instructions' word sets, so that one long
    /// input under two different instructions is not a near duplicate.
    pub near_dup_min_instruction_overlap: f64,
    /// NearDuplicate: words per shingle.
    pub shingle_words: usize,
    /// NearDuplicate: MinHash permutations (a multiple of `lsh_bands`).
    pub minhash_permutations: usize,
    /// NearDuplicate: LSH bands; more bands find lower similarities at more cost.
    pub lsh_bands: usize,
}

impl Default for FlagConfig {
    fn default() -> Self {
        FlagConfig {
            enabled: FlagKind::ALL.to_vec(),
            copy_overlap: 0.9,
            copy_min_words: 4,
            refusal_phrases: strings(&phrases::REFUSAL_PHRASES),
            refusal_openings: strings(&phrases::REFUSAL_OPENINGS),
            refusal_roleplay_cues: strings(&phrases::REFUSAL_ROLEPLAY_CUES),
            extra_refusal_phrases: Vec::new(),
            truncation_min_words: 6,
            truncation_long_prose_words: 25,
            placeholder_values: strings(&phrases::PLACEHOLDER_VALUES),
            placeholder_markers: strings(&phrases::PLACEHOLDER_MARKERS),
            modality_phrases: strings(&phrases::MODALITY_PHRASES),
            url_open_cues: strings(&phrases::URL_OPEN_CUES),
            long_ask_verbs: strings(&phrases::LONG_ASK_VERBS),
            long_ask_nouns: strings(&phrases::LONG_ASK_NOUNS),
            explain_verbs: strings(&phrases::EXPLAIN_VERBS),
            brevity_cues: strings(&phrases::BREVITY_CUES),
            long_ask_min_words: 12,
            short_ask_verbs: strings(&phrases::SHORT_ASK_VERBS),
            short_ask_cues: strings(&phrases::SHORT_ASK_CUES),
            short_ask_max_words: 120,
            max_length_ratio: 12.0,
            noise_max_symbol_fraction: 0.35,
            noise_max_char_run: 10,
            noise_max_word_repeat: 6,
            near_dup_threshold: 0.85,
            near_dup_min_instruction_overlap: 0.5,
            shingle_words: 2,
            minhash_permutations: 128,
            lsh_bands: 16,
        }
    }
}

impl FlagConfig {
    /// Whether `kind` is reported under this config.
    pub fn is_enabled(&self, kind: FlagKind) -> bool {
        self.enabled.contains(&kind)
    }
}

/// All per-record flags for `rec` (every kind except the dataset-level duplicate kinds), in
/// [`FlagKind::ALL`] order, at most one per kind.
pub fn flag_record(rec: &RecordText, cfg: &FlagConfig) -> Vec<Flag> {
    let mut flags = Vec::new();
    let on = |k| cfg.is_enabled(k);
    let empty = rec.output.trim().is_empty();
    let instr = fold(rec.instruction);
    if on(FlagKind::EmptyResponse) && empty {
        flags.push(Flag::new(FlagKind::EmptyResponse, "response is empty"));
    }
    let copy = if empty { None } else { copies_prompt(rec, &instr, cfg) };
    let copied = copy.is_some();
    let mut push = |kind, reason: Option<String>| {
        if let Some(r) = reason.filter(|_| on(kind)) {
            flags.push(Flag::new(kind, r));
        }
    };
    push(FlagKind::CopiesPrompt, copy);
    if !empty {
        push(FlagKind::Refusal, refusal(rec.output, &instr, cfg));
        push(FlagKind::Truncated, truncated(rec.output, cfg));
    }
    push(FlagKind::Placeholder, placeholder(rec, cfg));
    push(FlagKind::NeedsModality, needs_modality(rec, &instr, cfg));
    push(FlagKind::MergedInstructions, merged_instructions(rec.instruction));
    // The length of a copied prompt says nothing more about it.
    if !empty && !copied {
        push(FlagKind::LengthRatio, length_ratio(rec, &instr, cfg));
    }
    let noise = [("instruction", rec.instruction), ("input", rec.input), ("response", rec.output)]
        .into_iter()
        .find_map(|(field, text)| noise(field, text, cfg));
    push(FlagKind::Noise, noise);
    flags
}

fn copies_prompt(rec: &RecordText, instr: &str, cfg: &FlagConfig) -> Option<String> {
    let out = words(rec.output);
    if out.len() < cfg.copy_min_words {
        return None;
    }
    let editing = phrases::EDIT_CUES.iter().any(|c| instr.contains(c));
    for (field, src) in [("instruction", rec.instruction), ("input", rec.input)] {
        let src_words = words(src);
        if src_words.is_empty() {
            continue;
        }
        let quoted = snippet(rec.output, 60, false);
        let same_text = || {
            let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            flat(src) == flat(rec.output)
        };
        if src_words == out && (!editing || same_text()) {
            return Some(format!("response repeats the {field} word for word: \"{quoted}\""));
        }
        let sim = bigram_overlap(&out, &src_words);
        if !editing && sim >= cfg.copy_overlap {
            let pct = (sim * 100.0).floor();
            return Some(format!("response is a {pct}% copy of the {field}: \"{quoted}\""));
        }
    }
    None
}

/// Shared word bigrams (as multisets) over the larger bigram count of the two texts.
pub(crate) fn bigram_overlap(a: &[String], b: &[String]) -> f64 {
    fn grams(w: &[String]) -> Vec<(&str, &str)> {
        let mut g: Vec<(&str, &str)> = w.windows(2).map(|p| (p[0].as_str(), p[1].as_str())).collect();
        g.sort_unstable();
        g
    }
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < ga.len() && j < gb.len() {
        match ga[i].cmp(&gb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f64 / ga.len().max(gb.len()) as f64
}

fn refusal(output: &str, instr: &str, cfg: &FlagConfig) -> Option<String> {
    let out = fold(output);
    let hit = find_any(&out, &cfg.refusal_phrases).or_else(|| find_any(&out, &cfg.extra_refusal_phrases));
    if let Some(p) = hit {
        return Some(format!("response contains refusal/AI boilerplate \"{p}\""));
    }
    let roleplay = contains_any(instr, &cfg.refusal_roleplay_cues).is_some();
    let start = out.trim_start();
    let opening = cfg.refusal_openings.iter().find(|p| start.starts_with(folded(p).as_ref()));
    match opening {
        Some(_) if !roleplay => {
            Some(format!("response opens with a refusal: \"{}\"", snippet(output.trim(), 60, false)))
        }
        _ => None,
    }
}

fn truncated(output: &str, cfg: &FlagConfig) -> Option<String> {
    let t = output.trim_end();
    let fences = t.matches("```").count();
    if fences % 2 == 1 {
        return Some(format!("unclosed code fence: {fences} ``` markers"));
    }
    if looks_like_code(t) {
        return None;
    }
    let n_words = words(t).len();
    if n_words < cfg.truncation_min_words {
        return None;
    }
    let tail = snippet(t, 40, true);
    let last = t.chars().next_back()?;
    let terminal = matches!(last, '.' | '!' | '?' | '…');
    for (open, close) in [('(', ')'), ('[', ']'), ('{', '}')] {
        if let Some(pos) = t.rfind(open)
            && t.matches(open).count() > t.matches(close).count()
            && !t[pos..].contains(close)
            && !terminal
        {
            return Some(format!("'{open}' never closed at the end: \"{tail}\""));
        }
    }
    let is_quote = |c: char| matches!(c, '"' | '“' | '”');
    if !terminal
        && t.chars().filter(|&c| is_quote(c)).count() % 2 == 1
        && let Some(pos) = t.rfind(is_quote)
        && words(&t[pos..]).len() >= 3
    {
        return Some(format!("quotation left open at the end: \"{tail}\""));
    }
    if !(last.is_alphanumeric() || last == ',') {
        return None;
    }
    let last_line = t.lines().next_back().unwrap_or("");
    let line_words = words(last_line).len();
    // A comma ends sign-offs ("Sincerely,") and verse lines legitimately; a long prose line, not.
    if last == ',' && line_words >= 12 {
        return Some(format!("response ends with a comma: \"{tail}\""));
    }
    let last_token = last_line.split_whitespace().next_back().unwrap_or("");
    if last_token.starts_with('#') || last_token.starts_with('@') || last_token.contains("://") {
        return None;
    }
    // Lowercase only: "Company A", "AND" or note names are not dangling function words.
    let last_word = last_line.rsplit(|c: char| !c.is_alphanumeric()).find(|w| !w.is_empty()).unwrap_or("");
    if phrases::DANGLING.contains(&last_word) {
        return Some(format!("response ends mid-sentence: \"{tail}\""));
    }
    let last_sentence = last_line.rsplit(['.', '!', '?', ':']).next().unwrap_or(last_line);
    if !is_list_item(last_line) && words(last_sentence).len() >= cfg.truncation_long_prose_words {
        return Some(format!("long paragraph stops without end punctuation: \"{tail}\""));
    }
    None
}

fn placeholder_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric() || *c == '/').flat_map(char::to_lowercase).collect()
}

fn placeholder(rec: &RecordText, cfg: &FlagConfig) -> Option<String> {
    let fields = [("instruction", rec.instruction), ("input", rec.input), ("response", rec.output)];
    for (field, text) in fields {
        let t = text.trim();
        if t.is_empty() {
            continue;
        }
        let key = placeholder_key(t);
        let whole = t.chars().count() <= 20
            && cfg.placeholder_values.iter().any(|v| {
                let k = placeholder_key(v);
                if k.is_empty() { v.trim() == t } else { k == key }
            });
        if whole {
            return Some(format!("{field} is a placeholder: \"{t}\""));
        }
        if let Some(m) = find_any(&fold(t), &cfg.placeholder_markers) {
            return Some(format!("{field} contains placeholder marker \"{m}\""));
        }
    }
    None
}

fn needs_modality(rec: &RecordText, instr: &str, cfg: &FlagConfig) -> Option<String> {
    let prompt = format!("{instr}\n{}", fold(rec.input));
    if let Some(p) = find_any(&prompt, &cfg.modality_phrases) {
        return Some(format!("prompt refers to non-text material: \"{p}\""));
    }
    let url = ["https://", "http://", "www."]
        .iter()
        .find_map(|m| prompt.find(m))
        .map(|i| prompt[i..].split_whitespace().next().unwrap_or(""))?;
    let opens = contains_any(instr, &cfg.url_open_cues).is_some();
    let exempt = phrases::URL_EXEMPT.iter().any(|c| instr.contains(c)) && !instr.contains("visit");
    (opens && !exempt).then(|| format!("prompt asks to open a link: {}", snippet(url, 60, false)))
}

fn content_stems(sentence: &[String]) -> Vec<String> {
    sentence
        .iter()
        .filter(|w| w.len() >= 4 && !phrases::STOP.contains(&w.as_str()))
        .map(|w| w.chars().take(5).collect())
        .collect()
}

fn merged_instructions(instruction: &str) -> Option<String> {
    let lower = fold(instruction);
    let markers =
        ["instruction:", "output:", "response:", "### "].iter().map(|m| lower.matches(m).count()).sum::<usize>();
    if markers >= 2 {
        return Some("instruction embeds several \"Instruction:\"/\"Output:\" blocks".into());
    }
    let is_task = |w: &[String], question: bool| {
        w.len() >= 3
            && (phrases::TASK_VERBS.contains(&w[0].as_str())
                || (question && phrases::QUESTION_WORDS.contains(&w[0].as_str())))
    };
    // Numbered items that are each a task: "1. Write ... 2. Name ...".
    let items: Vec<&str> = instruction.lines().flat_map(|l| l.split("  ")).filter(|l| is_list_item(l)).collect();
    let task_items = items
        .iter()
        .filter(|l| {
            let body = l.trim_start().trim_start_matches(|c: char| c.is_ascii_alphanumeric());
            is_task(&words(body), body.contains('?'))
        })
        .count();
    if task_items >= 2 {
        return Some(format!("instruction lists {task_items} numbered tasks"));
    }
    // Unrelated task sentences: a later task shares no content word with, and does not refer
    // back to, what came before.
    let mut seen: Vec<String> = Vec::new();
    let mut first_task: Option<String> = None;
    for raw in split_sentences(instruction) {
        let w = words(raw);
        let question = raw.trim_end().ends_with('?');
        let stems = content_stems(&w);
        if raw.ends_with(':') || phrases::FORWARD.iter().any(|f| has_phrase(&fold(raw), f)) {
            // The rest of the instruction is the material this sentence points at.
            if first_task.is_none() {
                return None;
            }
        }
        if is_task(&w, question) && w.len() >= 4 {
            if let Some(first) = &first_task {
                let linked =
                    w.iter().any(|x| phrases::ANAPHORS.contains(&x.as_str())) || stems.iter().any(|s| seen.contains(s));
                if !linked {
                    return Some(format!("two unrelated tasks: \"{first}\" and \"{}\"", snippet(raw, 40, false)));
                }
            } else {
                first_task = Some(snippet(raw, 40, false));
            }
        }
        seen.extend(stems);
    }
    None
}

/// Sentences ending in '.', '?' or '!' followed by whitespace (or the end), and line breaks.
fn split_sentences(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let end = matches!(c, b'.' | b'?' | b'!') && b.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        if end || c == b'\n' {
            let piece = s[start..=i].trim();
            if !piece.is_empty() {
                out.push(piece);
            }
            start = i + 1;
        }
    }
    let rest = s[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

fn length_ratio(rec: &RecordText, instr: &str, cfg: &FlagConfig) -> Option<String> {
    let out_words = words(rec.output).len();
    let prompt_words = words(rec.instruction).len() + words(rec.input).len();
    let instr_words = words(instr);
    let first = instr_words.first().cloned().unwrap_or_default();
    let starts = |verbs: &[String]| verbs.iter().any(|v| folded(v) == first.as_str());
    let long_cue = if starts(&cfg.explain_verbs) {
        Some(first.clone())
    } else if starts(&cfg.long_ask_verbs) {
        // The genre must be the verb's object: "write a short story", not "write a title for a story".
        let object: Vec<&str> = instr_words
            .iter()
            .skip(1)
            .take(5)
            .map(String::as_str)
            .take_while(|w| !phrases::OBJECT_END.contains(w))
            .collect();
        find_any(&object.join(" "), &cfg.long_ask_nouns).map(str::to_string)
    } else {
        None
    };
    if let Some(cue) = long_cue
        && out_words < cfg.long_ask_min_words
        && find_any(instr, &cfg.brevity_cues).is_none()
    {
        return Some(format!("asks for \"{cue}\" but the response has only {out_words} words"));
    }
    let short_cue =
        if starts(&cfg.short_ask_verbs) { Some(first.as_str()) } else { find_any(instr, &cfg.short_ask_cues) };
    if let Some(cue) = short_cue
        && out_words > cfg.short_ask_max_words
        && out_words as f64 > cfg.max_length_ratio * prompt_words.max(1) as f64
    {
        return Some(format!("short ask (\"{cue}\") answered with {out_words} words for a {prompt_words}-word prompt"));
    }
    None
}

/// Characters that may repeat in long runs without being noise (rules, tables, numbers, spacing).
fn run_exempt(c: char) -> bool {
    c.is_whitespace() || c.is_ascii_digit() || "-=_*#.~`/\\|+<>:".contains(c)
}

fn noise(field: &str, text: &str, cfg: &FlagConfig) -> Option<String> {
    if let Some(c) = text.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Some(format!("{field} contains control character U+{:04X}", c as u32));
    }
    if text.contains('\u{FFFD}') {
        return Some(format!("{field} contains the replacement character '\u{FFFD}' (lost bytes)"));
    }
    let chars: Vec<char> = text.chars().collect();
    for (i, pair) in chars.windows(2).enumerate() {
        let moji = (matches!(pair[0], 'Ã' | 'Â') && ('\u{80}'..='\u{BF}').contains(&pair[1]))
            || (pair[0] == 'â' && matches!(pair[1], '€' | '„'))
            || (pair[0] == 'ï' && pair[1] == '»');
        if moji {
            let s: String = chars[i..(i + 3).min(chars.len())].iter().collect();
            return Some(format!("{field} has mojibake \"{s}\" (UTF-8 read as Latin-1)"));
        }
    }
    let (mut run, mut best, mut best_c) = (0usize, 0usize, ' ');
    for (i, &c) in chars.iter().enumerate() {
        run = if i > 0 && chars[i - 1] == c { run + 1 } else { 1 };
        if !run_exempt(c) && run > best {
            (best, best_c) = (run, c);
        }
    }
    if best > cfg.noise_max_char_run {
        return Some(format!("{field} repeats '{best_c}' {best} times in a row"));
    }
    let w = words(text);
    let mut wrun = 1;
    for i in 1..w.len() {
        wrun = if w[i] == w[i - 1] { wrun + 1 } else { 1 };
        if wrun > cfg.noise_max_word_repeat && w[i].chars().count() > 1 && !w[i].chars().all(|c| c.is_ascii_digit()) {
            return Some(format!("{field} repeats the word \"{}\" {wrun} times", w[i]));
        }
    }
    let visible: Vec<char> = chars.iter().copied().filter(|c| !c.is_whitespace()).collect();
    if visible.len() >= 20 && !looks_like_code(text) {
        let symbols = visible
            .iter()
            .filter(|&&c| {
                !c.is_alphanumeric()
                    && !".,;:!?'\"()[]{}<>=+*^/\\-–—’“”%$_|".contains(c)
                    && !('\u{2500}'..='\u{257F}').contains(&c)
            })
            .count();
        let frac = symbols as f64 / visible.len() as f64;
        if frac > cfg.noise_max_symbol_fraction {
            return Some(format!("{field} is {:.0}% symbols: \"{}\"", frac * 100.0, snippet(text, 40, false)));
        }
    }
    None
}

#[cfg(test)]
#[path = "heuristics_tests.rs"]
mod tests;
