//! Default phrase lists and word lists of the heuristics (all lowercase, matched on folded text).

/// Default `FlagConfig::refusal_phrases`.
#[rustfmt::skip]
pub(crate) const REFUSAL_PHRASES: [&str; 39] = [
    "as an ai language model", "as a language model", "as an ai model", "as an ai assistant",
    "as a large language model", "as an ai, i", "i'm just an ai", "i am just an ai", "i am only an ai",
    "i'm an ai", "i don't have personal opinions", "i do not have personal opinions",
    "i don't have personal experiences", "i do not have personal experiences",
    "i don't have personal beliefs", "i do not have personal preferences", "i don't have feelings",
    "i do not have feelings", "i cannot fulfill", "i can't fulfill", "i cannot comply", "i can't comply",
    "i don't have access to real-time", "i do not have access to real-time",
    "i don't have the ability to browse", "i cannot browse", "my knowledge cutoff", "my training data",
    "cannot be completed by a gpt", "cannot be fulfilled by a gpt", "cannot be done by a gpt",
    "not possible for a gpt", "gpt model cannot", "this task cannot be completed",
    "this instruction cannot be completed", "this task requires visual", "i cannot view images",
    "i can't see images", "i am not able to view",
];

/// Default `FlagConfig::refusal_openings`.
#[rustfmt::skip]
pub(crate) const REFUSAL_OPENINGS: [&str; 23] = [
    "i'm sorry, but i cannot", "i'm sorry, but i can't", "i am sorry, but i cannot", "i'm sorry, i cannot",
    "i'm sorry, i can't", "sorry, i cannot", "sorry, but i can't", "i apologize, but i cannot",
    "i apologize, but i can't", "i'm unable to", "i am unable to", "i cannot provide", "i can't provide",
    "i cannot assist", "i can't assist", "i can't help with", "i cannot help with", "i'm not able to",
    "i am not able to", "unfortunately, i cannot", "unfortunately, i can't", "it is not appropriate for me",
    "it's not appropriate for me",
];

/// Default `FlagConfig::refusal_roleplay_cues`.
#[rustfmt::skip]
pub(crate) const REFUSAL_ROLEPLAY_CUES: [&str; 20] = [
    "letter", "email", "e-mail", "reply", "respond", "response to", "message", "dialogue", "dialog",
    "conversation", "story", "script", "decline", "apolog", "role-play", "roleplay", "pretend", "character",
    "customer", "note to",
];

/// Default `FlagConfig::placeholder_values`.
#[rustfmt::skip]
pub(crate) const PLACEHOLDER_VALUES: [&str; 19] = [
    "<noinput>", "no input", "<nooutput>", "no output", "N/A", "NA", "None", "null", "nil", "NaN", "empty",
    "TBD", "TODO", "placeholder", "not applicable", "<input>", "<output>", "...", "-",
];

/// Default `FlagConfig::placeholder_markers`.
#[rustfmt::skip]
pub(crate) const PLACEHOLDER_MARKERS: [&str; 12] = [
    "<noinput>", "<nooutput>", "<no input>", "<no output>", "lorem ipsum", "{instruction}", "{input}",
    "{output}", "[insert text here]", "[insert input]", "<insert", "[placeholder]",
];

/// Default `FlagConfig::modality_phrases`.
#[rustfmt::skip]
pub(crate) const MODALITY_PHRASES: [&str; 96] = [
    "this image", "this photo", "this photograph", "this picture", "this video", "this audio",
    "this recording", "this clip", "this screenshot", "this painting", "this diagram", "this chart",
    "this graph", "the image below", "the image above", "the following image", "the given image",
    "the provided image", "the attached", "attached image", "attached file", "attached document",
    "the following photo", "the photo below", "the following picture", "the picture below",
    "the following video", "the given video", "the video below", "the following audio", "the audio clip",
    "the audio file", "the following recording", "sound clip", "the chart below", "the graph below",
    "the diagram below", "the chart above", "the graph above", "the diagram above", "the following chart",
    "the following graph", "the following diagram", "the given chart", "the given graph", "in the image",
    "in the picture", "in the photo", "in the video", "listen to the", "listen to this", "watch the video",
    "watch this", "the uploaded", "i uploaded", "see the chart", "see the graph", "see the image",
    "see the picture", "today's news", "latest news", "current news", "current events", "today's weather",
    "current weather", "weather today", "current stock price", "stock price today", "current exchange rate",
    "the following figure", "the given figure", "this figure", "the following artwork", "the given artwork",
    "this artwork", "the following painting", "the given painting", "the following comic", "the given comic",
    "this comic", "in the animation", "the following photos", "the given photo", "the given picture", "[image",
    "<image", "[photo", "<photo", "[picture", "[img", "<img", "search the web and", "search the internet and",
    "search online and", "browse the web and", "browse the internet and",
];

/// Link targets that are pictures, sound or video whatever the instruction's verb: hosts (matched
/// within the host name) and file extensions (at the end of the path).
pub(crate) const MEDIA_HOSTS: [&str; 12] = [
    "youtube.com",
    "youtu.be",
    "vimeo.com",
    "soundcloud.com",
    "spotify.com",
    "unsplash.com",
    "imgur.com",
    "flickr.com",
    "instagram.com",
    "tiktok.com",
    "pinterest.com",
    "giphy.com",
];
/// See [`MEDIA_HOSTS`].
pub(crate) const MEDIA_EXTENSIONS: [&str; 12] =
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".mp3", ".mp4", ".wav", ".mov", ".avi", ".pdf"];

/// Default `FlagConfig::url_open_cues`.
#[rustfmt::skip]
pub(crate) const URL_OPEN_CUES: [&str; 21] = [
    "visit", "watch", "listen", "open", "go to", "navigate", "read", "summar", "review", "describe",
    "according to", "based on", "article", "website", "page", "video", "link", "check out", "analyz",
    "what does", "look at",
];

/// Default `FlagConfig::long_ask_verbs`.
#[rustfmt::skip]
pub(crate) const LONG_ASK_VERBS: [&str; 7] = [
    "write", "compose", "draft", "create", "generate", "produce", "prepare",
];

/// Default `FlagConfig::long_ask_nouns`.
#[rustfmt::skip]
pub(crate) const LONG_ASK_NOUNS: [&str; 16] = [
    "essay", "story", "article", "blog post", "letter", "speech", "report", "paragraph", "tutorial", "guide",
    "biography", "press release", "proposal", "narrative", "op-ed", "review",
];

/// Default `FlagConfig::explain_verbs`.
#[rustfmt::skip]
pub(crate) const EXPLAIN_VERBS: [&str; 3] = [
    "explain", "discuss", "elaborate",
];

/// Default `FlagConfig::brevity_cues`.
#[rustfmt::skip]
pub(crate) const BREVITY_CUES: [&str; 34] = [
    "word", "words", "sentence", "sentences", "briefly", "brief", "short", "in short", "tweet", "headline",
    "title", "slogan", "caption", "haiku", "phrase", "yes or no", "one line", "one-line", "name",
    "adjective", "adjectives", "verb", "noun", "emoji", "hashtag", "number", "formula", "equation",
    "abbreviation", "acronym", "concise", "summary", "outline", "list",
];

/// Default `FlagConfig::short_ask_verbs`.
#[rustfmt::skip]
pub(crate) const SHORT_ASK_VERBS: [&str; 4] = [
    "classify", "categorize", "categorise", "label",
];

/// Default `FlagConfig::short_ask_cues`.
#[rustfmt::skip]
pub(crate) const SHORT_ASK_CUES: [&str; 12] = [
    "true or false", "yes or no", "in one word", "single word", "how many", "what is the capital",
    "which of the following", "answer with", "positive or negative", "fact or opinion", "select the correct",
    "sentiment of",
];

/// Instruction cues of editing tasks, whose answers legitimately share most words with the input:
/// for them only an unchanged text (punctuation and case included) counts as a copy.
#[rustfmt::skip]
pub(crate) const EDIT_CUES: [&str; 36] = [
    "rewrite", "re-write", "edit", "correct", "fix", "proofread", "paraphrase", "rephrase", "change",
    "convert", "replace", "punctuat", "capitali", "rearrange", "reorder", "revise", "improve", "spell",
    "grammar", "passive", "active voice", "tense", "format", "transform", "comma", "insert", "add", "break",
    "split", "separate", "cut", "combine", "normali", "case", "fill", "match",
];

/// Words that cannot end a complete English sentence (articles, conjunctions, most prepositions).
#[rustfmt::skip]
pub(crate) const DANGLING: [&str; 44] = [
    "the", "a", "an", "and", "or", "but", "nor", "of", "to", "by", "at", "into", "onto", "than", "as",
    "which", "whose", "if", "because", "although", "though", "whereas", "whether", "their", "its", "his",
    "my", "your", "our", "these", "those", "very", "each", "every", "including", "between", "during",
    "towards", "among", "is", "are", "was", "were", "such",
];

/// Verbs that open a task sentence.
#[rustfmt::skip]
pub(crate) const TASK_VERBS: [&str; 60] = [
    "write", "generate", "create", "list", "name", "explain", "describe", "summarize", "summarise",
    "translate", "classify", "identify", "find", "give", "compose", "calculate", "compute", "rewrite",
    "edit", "convert", "suggest", "provide", "design", "develop", "construct", "outline", "compare",
    "analyze", "analyse", "evaluate", "predict", "determine", "choose", "sort", "rank", "categorize", "tell",
    "recommend", "propose", "draft", "paraphrase", "correct", "solve", "estimate", "count", "extract",
    "state", "define", "discuss", "brainstorm", "convert", "spell", "reverse", "recite", "plan", "research",
    "invent", "tabulate", "detect", "diagnose",
];

#[rustfmt::skip]
pub(crate) const QUESTION_WORDS: [&str; 17] = [
    "what", "who", "whom", "where", "when", "why", "how", "which", "is", "are", "can", "could", "does", "do",
    "should", "would", "will",
];

/// Words that tie a sentence back to an earlier one: such a sentence is part of the same task.
#[rustfmt::skip]
pub(crate) const ANAPHORS: [&str; 22] = [
    "it", "this", "that", "these", "those", "them", "they", "its", "their", "above", "following", "previous",
    "each", "your", "result", "answer", "same", "both", "such", "then", "also", "one",
];

/// Words too common to show that two sentences share a topic.
#[rustfmt::skip]
pub(crate) const STOP: [&str; 16] = [
    "about", "with", "from", "that", "this", "what", "which", "your", "have", "there", "their", "into",
    "some", "more", "give", "write",
];

/// Instruction words meaning a URL is data to process, not a page to open.
#[rustfmt::skip]
pub(crate) const URL_EXEMPT: [&str; 9] = [
    "extract", "parse", "validate", "shorten", "regex", "regular expression", "domain", "url", "hyperlink"
];

/// Instruction words asking to put a list or text in order, whose answer may repeat the input.
pub(crate) const ORDER_CUES: [&str; 7] = ["rank", "order", "arrange", "sort", "organi", "alphabeti", "sequence"];

/// Phrases by which a sentence points at text that follows it inside the instruction.
#[rustfmt::skip]
pub(crate) const FORWARD: [&str; 8] = [
    "following", "below", "this sentence", "this text", "this passage", "this question", "given", "instruction"
];

/// Words that end the object noun phrase of an instruction's opening verb.
#[rustfmt::skip]
pub(crate) const OBJECT_END: [&str; 12] = [
    "for", "about", "of", "with", "that", "to", "which", "on", "in", "from", "using", "based"
];
