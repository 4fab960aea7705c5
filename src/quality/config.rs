//! [`FlagConfig`]: thresholds, phrase lists and toggles of the model-free flags.

use super::heuristics::FlagKind;
use super::phrases;
use serde::{Deserialize, Serialize};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Thresholds, phrase lists and toggles for every flag. Every field has a default, so a config file
/// names only what it changes. Phrase lists match case-insensitively at word boundaries.
#[derive(Deserialize, Serialize, Clone, Debug)]
#[serde(default)]
pub struct FlagConfig {
    /// Kinds that are reported; others are skipped. By default the kinds that meet the precision
    /// contract on the curator labels ([`super::precision`]); name others here to turn them on.
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
            enabled: FlagKind::ALL.into_iter().filter(|k| super::precision::on_by_default(k.name())).collect(),
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
    /// The default thresholds with every kind enabled, as the precision bench measures them.
    pub fn all_enabled() -> Self {
        FlagConfig { enabled: FlagKind::ALL.to_vec(), ..FlagConfig::default() }
    }

    /// Whether `kind` is reported under this config.
    pub fn is_enabled(&self, kind: FlagKind) -> bool {
        self.enabled.contains(&kind)
    }
}
