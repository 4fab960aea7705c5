//! Model-free flags over one record's texts: empty or copied responses, refusals, truncation,
//! placeholders, other modalities, merged tasks, odd lengths and noise. Duplicates are found across a
//! dataset by [`super::dedup`].

pub use super::config::FlagConfig;
use super::phrases;
use super::text::{
    PhraseMatcher, contains_any, find_any, fold, folded, has_phrase, is_list_item, looks_like_code, re, snippet,
    word_count, words,
};
use crate::dataset::RecordText;
use serde::{Deserialize, Serialize};

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
    StandInInput,
    TemplateVariable,
    Miscalculated,
    CountMismatch,
    FormMismatch,
    ResultOnly,
    CodeSyntax,
    RestatesInput,
}

impl FlagKind {
    /// Every kind, in display order.
    pub const ALL: [FlagKind; 19] = [
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
        FlagKind::StandInInput,
        FlagKind::TemplateVariable,
        FlagKind::Miscalculated,
        FlagKind::CountMismatch,
        FlagKind::FormMismatch,
        FlagKind::ResultOnly,
        FlagKind::CodeSyntax,
        FlagKind::RestatesInput,
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
            FlagKind::StandInInput => "stand_in_input",
            FlagKind::TemplateVariable => "template_variable",
            FlagKind::Miscalculated => "miscalculated",
            FlagKind::CountMismatch => "count_mismatch",
            FlagKind::FormMismatch => "form_mismatch",
            FlagKind::ResultOnly => "result_only",
            FlagKind::CodeSyntax => "code_syntax",
            FlagKind::RestatesInput => "restates_input",
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
            FlagKind::StandInInput => "the input is a stand-in such as \"No input\" instead of being empty",
            FlagKind::TemplateVariable => "a field holds an unfilled template variable such as {{name}} or <image>",
            FlagKind::Miscalculated => "the response's number disagrees with the calculation the prompt asks for",
            FlagKind::CountMismatch => "the response has another count than asked (words, sentences, items, syllables)",
            FlagKind::FormMismatch => {
                "the response ignores a form the instruction asks for (one word, case, metaphor, script)"
            }
            FlagKind::ResultOnly => "asked for an algorithm or a program, the response gives only a result",
            FlagKind::CodeSyntax => "code in the response does not parse in its language",
            FlagKind::RestatesInput => {
                "the response restates the input passage (and often goes on with more of its source) instead of answering"
            }
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

/// All per-record flags for `rec` (every kind except the dataset-level duplicate kinds), in
/// [`FlagKind::ALL`] order, at most one per kind.
///
/// Compiles the config's phrase lists on every call; to flag many records build one [`Flagger`].
pub fn flag_record(rec: &RecordText, cfg: &FlagConfig) -> Vec<Flag> {
    Flagger::new(cfg).flag(rec)
}

/// A [`FlagConfig`] with its phrase lists compiled, for flagging many records.
#[derive(Clone, Debug)]
pub struct Flagger<'c> {
    cfg: &'c FlagConfig,
    refusal: PhraseMatcher,
    placeholder: PhraseMatcher,
    modality: PhraseMatcher,
    brevity: PhraseMatcher,
    short_ask: PhraseMatcher,
    placeholder_keys: Vec<String>,
}

impl<'c> Flagger<'c> {
    /// Compile `cfg`'s phrase lists.
    pub fn new(cfg: &'c FlagConfig) -> Self {
        Flagger {
            cfg,
            refusal: PhraseMatcher::new([&cfg.refusal_phrases[..], &cfg.extra_refusal_phrases[..]]),
            placeholder: PhraseMatcher::new([&cfg.placeholder_markers[..]]),
            modality: PhraseMatcher::new([&cfg.modality_phrases[..]]),
            brevity: PhraseMatcher::new([&cfg.brevity_cues[..]]),
            short_ask: PhraseMatcher::new([&cfg.short_ask_cues[..]]),
            placeholder_keys: cfg.placeholder_values.iter().map(|v| placeholder_key(v)).collect(),
        }
    }

    /// Same as [`flag_record`] with this flagger's config.
    pub fn flag(&self, rec: &RecordText) -> Vec<Flag> {
        flag_with(rec, self)
    }
}

fn flag_with(rec: &RecordText, f: &Flagger) -> Vec<Flag> {
    let cfg = f.cfg;
    let on = |k| cfg.is_enabled(k);
    let empty = rec.output.trim().is_empty();
    let instr = fold(rec.instruction);
    let copy = if empty || !(on(FlagKind::CopiesPrompt) || on(FlagKind::LengthRatio)) {
        None
    } else {
        copies_prompt(rec, &instr, cfg)
    };
    let copied = copy.is_some();
    let mut flags = Vec::new();
    let mut check = |kind, run: &dyn Fn() -> Option<String>| {
        if on(kind)
            && let Some(reason) = run()
        {
            flags.push(Flag::new(kind, reason));
        }
    };
    check(FlagKind::EmptyResponse, &|| empty.then(|| "response is empty".to_string()));
    check(FlagKind::CopiesPrompt, &|| copy.clone());
    if !empty {
        check(FlagKind::Refusal, &|| refusal(rec.output, &instr, f));
        check(FlagKind::Truncated, &|| truncated(rec.output, cfg));
    }
    check(FlagKind::Placeholder, &|| placeholder(rec, f));
    check(FlagKind::NeedsModality, &|| needs_modality(rec, &instr, f));
    check(FlagKind::MergedInstructions, &|| merged_instructions(rec.instruction));
    // The length of a copied prompt says nothing more about it.
    if !empty && !copied {
        check(FlagKind::LengthRatio, &|| length_ratio(rec, &instr, f));
    }
    check(FlagKind::Noise, &|| {
        [("instruction", rec.instruction), ("input", rec.input), ("response", rec.output)]
            .into_iter()
            .find_map(|(field, text)| super::noise::noise(field, text, cfg))
    });
    if [
        FlagKind::StandInInput,
        FlagKind::TemplateVariable,
        FlagKind::Miscalculated,
        FlagKind::CountMismatch,
        FlagKind::FormMismatch,
        FlagKind::ResultOnly,
        FlagKind::CodeSyntax,
        FlagKind::RestatesInput,
    ]
    .into_iter()
    .any(on)
    {
        for r in super::checks::run_checks(rec.instruction, rec.input, rec.output) {
            if r.failed && on(r.kind) && !flags.iter().any(|f: &Flag| f.kind == r.kind) {
                flags.push(Flag::new(r.kind, r.detail));
            }
        }
    }
    flags
}

fn copies_prompt(rec: &RecordText, instr: &str, cfg: &FlagConfig) -> Option<String> {
    let n_out = word_count(rec.output);
    if n_out < cfg.copy_min_words {
        return None;
    }
    // Overlap is at most the shorter bigram count over the longer one: skip hopeless pairs unallocated.
    let reachable = |src: &str| {
        let n = word_count(src);
        n > 0 && (n.min(n_out) as f64) / (n.max(n_out) as f64) >= cfg.copy_overlap.min(1.0) * 0.99
    };
    let candidates: Vec<(&str, &str)> =
        [("instruction", rec.instruction), ("input", rec.input)].into_iter().filter(|(_, s)| reachable(s)).collect();
    if candidates.is_empty() {
        return None;
    }
    let out = words(rec.output);
    let editing = phrases::EDIT_CUES.iter().any(|c| instr.contains(c));
    // Ranking or sorting may legitimately leave the input as it was.
    if phrases::ORDER_CUES.iter().any(|c| instr.contains(c)) {
        return None;
    }
    for (field, src) in candidates {
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
    let shared = crate::quality::text::sorted_shared(&ga, &gb);
    shared as f64 / ga.len().max(gb.len()) as f64
}

fn refusal(output: &str, instr: &str, f: &Flagger) -> Option<String> {
    let cfg = f.cfg;
    let out = fold(output);
    let hit = f.refusal.find(&out);
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
    let n_words = word_count(t);
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
        && word_count(&t[pos..]) >= 3
    {
        return Some(format!("quotation left open at the end: \"{tail}\""));
    }
    if !(last.is_alphanumeric() || last == ',') {
        return None;
    }
    let last_line = t.lines().next_back().unwrap_or("");
    let line_words = word_count(last_line);
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
    if !is_list_item(last_line) && word_count(last_sentence) >= cfg.truncation_long_prose_words {
        return Some(format!("long paragraph stops without end punctuation: \"{tail}\""));
    }
    None
}

fn placeholder_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric() || *c == '/').flat_map(char::to_lowercase).collect()
}

fn placeholder(rec: &RecordText, f: &Flagger) -> Option<String> {
    let cfg = f.cfg;
    let fields = [("instruction", rec.instruction), ("input", rec.input), ("response", rec.output)];
    for (field, text) in fields {
        let t = text.trim();
        // A stand-in input is its own flag (stand_in_input).
        if t.is_empty() || (field == "input" && super::checks::is_stand_in_input(t)) {
            continue;
        }
        let whole = t.len() <= 40 && t.chars().count() <= 20 && {
            let key = placeholder_key(t);
            f.placeholder_keys
                .iter()
                .zip(&cfg.placeholder_values)
                .any(|(k, v)| if k.is_empty() { v.trim() == t } else { *k == key })
        };
        if whole {
            return Some(format!("{field} is a placeholder: \"{t}\""));
        }
        if let Some(m) = f.placeholder.find(&fold(t)) {
            return Some(format!("{field} contains placeholder marker \"{m}\""));
        }
    }
    None
}

fn needs_modality(rec: &RecordText, instr: &str, f: &Flagger) -> Option<String> {
    let cfg = f.cfg;
    let input = fold(rec.input);
    // Words inside a URL ("mywebsite.com/watch") are not words of the prompt.
    let (instr_text, instr_urls) = split_urls(instr);
    let (input_text, input_urls) = split_urls(&input);
    // "The following figure of speech" is text.
    let prompt = format!("{instr_text}\n{input_text}").replace("figure of speech", "idiom");
    if let Some(p) = f.modality.find(&prompt) {
        // A painting or artwork named in the input ("The Starry Night") is known by its name.
        let named_work = (p.contains("painting") || p.contains("artwork"))
            && input_urls.is_empty()
            && !input_text.trim().is_empty()
            && !input_text.contains(['[', '<']);
        if !named_work {
            return Some(format!("prompt refers to non-text material: \"{p}\""));
        }
    }
    // A link matters when the instruction holds it or the input is little more than it; a URL inside
    // pasted text (an email, an article) leaves the text to work from.
    let input_is_link = !input_urls.is_empty() && word_count(&input_text) <= 3;
    let url = instr_urls.first().or(if input_is_link { input_urls.first() } else { None });
    let opens = contains_any(&instr_text, &cfg.url_open_cues).is_some();
    let exempt = phrases::URL_EXEMPT.iter().any(|c| instr_text.contains(c)) && !instr_text.contains("visit");
    if let Some(url) = url
        && opens
        && !exempt
    {
        return Some(format!("prompt asks to open a link: {}", snippet(url, 60, false)));
    }
    if let Some(url) = url.filter(|u| is_media_link(u))
        && !exempt
    {
        return Some(format!("prompt works on a picture, sound or video behind a link: {}", snippet(url, 60, false)));
    }
    if input_text.trim().is_empty()
        && let Some(doc) = missing_document(&instr_text).or_else(|| missing_referent(&instr_text))
    {
        return Some(format!("asks to work on \"{doc}\", but the record holds no such text"));
    }
    if let Some(style) = missing_formatting(&instr_text, rec.instruction, rec.input) {
        return Some(format!("refers to text marked \"{style}\", but the record has no such formatting"));
    }
    super::live_data::invented_market_figure(rec.instruction, rec.input, rec.output)
}

/// A link to a picture, a sound or a video: a media host, or a media file's extension.
fn is_media_link(url: &str) -> bool {
    let u = url.trim_matches(|c: char| matches!(c, '(' | ')' | '<' | '>' | '"' | '\'' | '[' | ']' | '.' | ','));
    let u = u.rsplit_once("](").map_or(u, |(_, link)| link).to_ascii_lowercase();
    let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.split(['?', '#']).next().unwrap_or("");
    phrases::MEDIA_HOSTS.iter().any(|h| host == *h || host.ends_with(&format!(".{h}")))
        || phrases::MEDIA_EXTENSIONS.iter().any(|e| path.ends_with(e))
}

/// A document the instruction asks to read ("summarize the article", "a recent news article") when
/// the instruction itself is too short to hold it.
fn missing_document(instr: &str) -> Option<String> {
    static DOC: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        re(concat!(
            r"\b(summari[sz]e|read|analy[sz]e|review|critique|proofread|paraphrase|classify|evaluate|edit|rewrite)\b",
            r"[^.?!:]{0,30}?\b(this|the following|the given|the provided|the attached|the above|the below|a recent|the latest|today's)",
            r"\s+(news\s+)?(article|blog post|news story|passage|document|email|report|transcript|speech)\b"
        ))
    });
    static NAMED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        re(concat!(
            r"\b(summari[sz]e|read|analy[sz]e|review|critique)\s+(the|an|this)\s+(news\s+)?(article|blog post|news story|report)",
            r"\s+(with the (headline|title)|titled|entitled|called|named|headlined)\b"
        ))
    });
    // Only its headline given: the article itself is not there.
    if let Some(m) = NAMED.find(instr) {
        return Some(m.as_str().to_string());
    }
    let m = DOC.find(instr)?;
    // Material quoted or pasted into the instruction after the reference.
    let rest = &instr[m.end()..];
    (word_count(rest) <= 12 && !rest.contains('"')).then(|| m.as_str().to_string())
}

/// Text the instruction points at ("Complete this sentence", "Rewrite the given paragraph") with
/// nothing after the reference in the same instruction to be that text.
fn missing_referent(instr: &str) -> Option<String> {
    static REF: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        re(concat!(
            r"\b(this|these|the following|the given|the provided|the above|the below|the attached)\s+",
            r"(sentences?|paragraphs?|text|poem|story|passage|phrases?|statements?|quote|code|snippet|essay|tweet|",
            r"list|table|data|dataset|equation|expression|word|words|lyrics|dialogue|conversation|review|headline)\b"
        ))
    });
    let m = REF.find(instr)?;
    // Material may also come before the reference ("The cat sat. Rewrite this sentence.").
    if instr[..m.start()].contains(['.', '?', '!', ':', '\n', '"']) {
        return None;
    }
    let rest = instr[m.end()..].trim();
    // Anything after the sentence that holds the reference may be the material itself.
    let same_sentence =
        rest.split_once(['.', '?', '!', ':', '\n', '"']).is_none_or(|(_, after)| after.trim().is_empty());
    let quoted = rest.contains(" '") || rest.starts_with('\'');
    (same_sentence && !quoted && word_count(rest) <= 12).then(|| m.as_str().to_string())
}

/// Formatting the instruction relies on ("the words in bold", "the underlined phrase") that neither
/// the instruction nor the input carries (no `**`, `__`, `<b>`, `<u>`, `<i>`, `*word*` markup).
fn missing_formatting(instr: &str, raw_instruction: &str, raw_input: &str) -> Option<String> {
    static STYLE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        re(r"\b(in bold|bold(ed)? (words?|text|phrases?|parts?)|underlined|in italics|italici[sz]ed|highlighted)\b")
    });
    static MARKUP: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| re(r"(^|\s)[*_][^\s*_][^*_]*[*_]($|[\s.,;:!?])"));
    let m = STYLE.find(instr)?;
    let prompt = format!("{raw_instruction}\n{raw_input}");
    let marked = ["**", "__", "<b>", "<u>", "<i>", "<em>", "<strong>", "<mark>"].iter().any(|t| prompt.contains(t))
        || MARKUP.is_match(&prompt);
    (!marked).then(|| m.as_str().to_string())
}

/// `text` with its URLs (http://, https://, www.) blanked out, and the URLs.
fn split_urls(text: &str) -> (String, Vec<&str>) {
    let mut rest = String::with_capacity(text.len());
    let mut urls = Vec::new();
    for token in text.split_inclusive(char::is_whitespace) {
        let word = token.trim_end();
        let bare = word.trim_start_matches(['(', '<', '"', '\'', '[']);
        if ["https://", "http://", "www."].iter().any(|m| bare.starts_with(m) || bare.contains("](http")) {
            urls.push(word);
            rest.push(' ');
        } else {
            rest.push_str(token);
        }
    }
    (rest, urls)
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
        let points_ahead = raw.ends_with(':') || phrases::FORWARD.iter().any(|f| has_phrase(&fold(raw), f));
        if points_ahead && first_task.is_none() {
            // The rest of the instruction is the material this sentence points at.
            return None;
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

fn length_ratio(rec: &RecordText, instr: &str, f: &Flagger) -> Option<String> {
    let cfg = f.cfg;
    let out_words = word_count(rec.output);
    let prompt_words = word_count(rec.instruction) + word_count(rec.input);
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
        && f.brevity.find(instr).is_none()
    {
        return Some(format!("asks for \"{cue}\" but the response has only {out_words} words"));
    }
    let short_cue = if starts(&cfg.short_ask_verbs) { Some(first.as_str()) } else { f.short_ask.find(instr) };
    if let Some(cue) = short_cue
        && out_words > cfg.short_ask_max_words
        && out_words as f64 > cfg.max_length_ratio * prompt_words.max(1) as f64
    {
        return Some(format!("short ask (\"{cue}\") answered with {out_words} words for a {prompt_words}-word prompt"));
    }
    None
}

#[cfg(test)]
#[path = "heuristics_tests.rs"]
mod tests;
