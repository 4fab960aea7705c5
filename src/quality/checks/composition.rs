//! Counts of what a response is made of, where the instruction fixes them: a password's digits,
//! symbols, letters and length ("a password with 2 special characters and 2 digits"), the groups of a
//! grouping ("into two categories"), more than one of what "a few ways" asks for, and the time a
//! timed routine adds up to ("a ten-minute workout").

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::re;
use regex::Regex;
use std::sync::LazyLock;

const WORDS: [&str; 13] =
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];

fn count_of(s: &str) -> Option<usize> {
    let s = s.trim().to_lowercase();
    s.parse().ok().or_else(|| WORDS.iter().position(|w| *w == s))
}

const N: &str = r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)";

static PASSWORD: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bpassword\b"));
static PASSWORD_PART: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b(at least |a minimum of |minimum of |exactly )?{N}(?:\s+or more)?[- ](special characters?|symbols?|special symbols?|digits?|numbers?|numerals?|upper[- ]?case(?: letters?| characters?)?|capital letters?|lower[- ]?case(?: letters?| characters?)?|letters?|characters?)\b(\s+long|\s+in length)?"
    ))
});
/// The password in a response: the whole response when it is one token, else a token quoted or
/// written after "password".
static PASSWORD_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)password(?:\s+is)?\s*:?\s*(?:"([^"\s]+)"|`([^`\s]+)`|'([^'\s]+)'|(\S+)\s*$)"#));

fn password_of(output: &str) -> Option<String> {
    let t = output.trim();
    if !t.is_empty() && !t.contains(char::is_whitespace) {
        return Some(t.to_string());
    }
    let c = PASSWORD_TOKEN.captures(t)?;
    // A token ending the sentence loses its full stop ("The password is 5Lz#^U.").
    let token = c.get(4).map(|m| m.as_str().strip_suffix('.').unwrap_or(m.as_str()));
    Some(c.get(1).or(c.get(2)).or(c.get(3)).map(|m| m.as_str()).or(token)?.to_string())
}

/// A password's composition against what the instruction asks of it.
fn password(instruction: &str, output: &str) -> Option<CheckResult> {
    PASSWORD.find(instruction)?;
    let pw = password_of(output)?;
    let n = pw.chars().count();
    if !(4..=64).contains(&n) {
        return None;
    }
    let lower = instruction.to_lowercase();
    // "at least 1 letter and 1 number": a minimum said once holds for the whole list.
    let minimums = ["at least", "minimum", "or more", "must contain", "must include"].iter().any(|q| lower.contains(q));
    // "a ten-digit password using letters and symbols" asks for its length.
    let mixed = ["letter", "symbol", "special", "character"].iter().any(|w| lower.contains(w));
    let mut failed = Vec::new();
    let mut measured = Vec::new();
    for c in PASSWORD_PART.captures_iter(instruction) {
        let Some(want) = count_of(&c[2]) else { continue };
        let whole = c.get(0)?;
        // A range ("10-15 characters") is not one count.
        let before = instruction[..whole.start()].trim_end();
        if before.ends_with(['-', '–']) || before.to_lowercase().ends_with(" to") {
            continue;
        }
        let mut part = c[3].to_lowercase();
        let n_digit_password = instruction[whole.end()..].trim_start().to_lowercase().starts_with("password");
        if part.starts_with("digit") && n_digit_password && mixed {
            part = "characters".into();
        }
        let is_length = part.starts_with("character");
        let qualified = c.get(1).is_some_and(|q| !q.as_str().to_lowercase().starts_with("exactly"))
            || c[0].to_lowercase().contains("or more");
        // "with one number" means it has a number; a minimum said once is not the length's.
        let at_least = qualified || (!is_length && (want == 1 || minimums));
        let (label, have) = if part.starts_with("special") || part.starts_with("symbol") {
            ("special characters", pw.chars().filter(|c| !c.is_alphanumeric()).count())
        } else if part.starts_with("digit") || part.starts_with("number") || part.starts_with("numeral") {
            ("digits", pw.chars().filter(char::is_ascii_digit).count())
        } else if part.starts_with("upper") || part.starts_with("capital") {
            ("uppercase letters", pw.chars().filter(|c| c.is_uppercase()).count())
        } else if part.starts_with("lower") {
            ("lowercase letters", pw.chars().filter(|c| c.is_lowercase()).count())
        } else if part.starts_with("letter") {
            ("letters", pw.chars().filter(|c| c.is_alphabetic()).count())
        } else {
            // "8 characters" is the length; "at least 8 characters" too.
            ("characters", n)
        };
        let ok = if at_least { have >= want } else { have == want };
        let asked = if at_least { format!("at least {want}") } else { want.to_string() };
        let line = format!("{asked} {label}, has {have}");
        if !ok {
            failed.push(line.clone());
        }
        measured.push(line);
    }
    if measured.is_empty() {
        return None;
    }
    Some(if failed.is_empty() {
        CheckResult::pass(FlagKind::CountMismatch, format!("asked for a password with {}", measured.join("; ")))
    } else {
        CheckResult::fail(FlagKind::CountMismatch, 1.0, format!("asked for a password with {}", failed.join("; ")))
    })
}

static GROUPS: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)\b(?:into|in)\s+{N}\s+(?:categories|groups|classes|types|columns)\b")));
/// A group's label line: "Fruits:" alone, or "Fruits: apple, banana".
static LABEL_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(?:[-*•]\s*|\d+[.)]\s*)?([A-Za-z][\w&/()-]*(?: [\w&/()-]+){0,2})\s*:\s*(.*)$"));

/// "Group these into two categories" answered with fewer groups. Groups are label lines; a response
/// with prose outside its labels is not counted.
fn groups(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = GROUPS.captures(instruction)?;
    let lower = instruction.to_lowercase();
    if lower.contains("one of") || lower.contains("either") {
        return None;
    }
    let want = count_of(&c[1]).filter(|n| (2..=10).contains(n))?;
    let lines: Vec<&str> = output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let labels: Vec<(&str, bool)> = lines
        .iter()
        .filter_map(|l| LABEL_LINE.captures(l).map(|c| (c.get(1).map_or("", |m| m.as_str()), c[2].trim().is_empty())))
        .collect();
    let headers = labels.iter().filter(|(_, empty)| *empty).count();
    let found = if headers > 0 {
        headers
    } else if !labels.is_empty() && labels.len() == lines.len() {
        // "Talent: Yes, Non-Talent: No" is two groups on a line.
        lines.iter().map(|l| l.matches(':').count()).sum()
    } else {
        return None;
    };
    let what = format!("asked for {want} groups, has {found}");
    Some(if found < want {
        CheckResult::fail(FlagKind::CountMismatch, (want - found) as f32 / want as f32, what)
    } else {
        CheckResult::pass(FlagKind::CountMismatch, what)
    })
}

static A_FEW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:a few|several|some|multiple|a couple of|various)\s+(?:different\s+|creative\s+|possible\s+|alternative\s+)?(ways to (?:introduce|open|begin|start|say|phrase|express|word|rephrase|rewrite|greet)|openings|introductions|rewrites|paraphrases|versions|greetings)\b",
    )
});
/// Marks of more than one of something in a response.
static SEVERAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)^\s*(?:[-*•]|\d+[.)]|[a-z][.)])\s|\b(first(ly)?|second(ly)?|third(ly)?|another|alternatively|additionally|also|other|options?|or you could|you could also|include|includes|such as|for example)\b|[;:]|\n\s*\n",
    )
});

/// "A few ways to introduce ..." (or openings, rewrites, versions: texts of which a paragraph is one)
/// answered with one: a single paragraph with no list and nothing that introduces a second one.
fn a_few(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = A_FEW.captures(instruction)?;
    let what = c[1].to_lowercase();
    if SEVERAL.is_match(output.trim()) || output.lines().filter(|l| !l.trim().is_empty()).count() > 1 {
        return None;
    }
    Some(CheckResult::fail(
        FlagKind::CountMismatch,
        0.5,
        format!("asked for a few {what}, has one paragraph with no list and no second one"),
    ))
}

static TIMED: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(r"(?i)\b{N}[- ]minutes?\s+(?:long\s+)?((?:[a-z-]+\s+)?(?:workout|routine|circuit|session))\b"))
});
static STEP_TIME: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(\d{1,3})\s*(seconds?|secs?|s|minutes?|mins?)\b"));
static REPEATS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(repeat|repeated|rounds?|sets?|circuits?|times|cycles?|each side|per side|total)\b|\b\d+\s*x\b|\bx\s*\d+",
    )
});

/// A timed routine ("a ten-minute HIIT routine") whose listed steps add up to far less or more.
fn timed_routine(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = TIMED.captures(instruction)?;
    let minutes = count_of(&c[1]).filter(|m| (2..=90).contains(m))? as f64;
    let steps: Vec<&str> = output
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit() || "-*•".contains(c)))
        .collect();
    if steps.len() < 3 || REPEATS.is_match(output) {
        return None;
    }
    let mut total = 0.0;
    for step in &steps {
        let mut times = STEP_TIME.captures_iter(step);
        let t = times.next()?;
        if times.next().is_some() {
            return None;
        }
        let v: f64 = t[1].parse().ok()?;
        total += if t[2].to_lowercase().starts_with('m') { v } else { v / 60.0 };
    }
    let what = format!("asked for a {minutes}-minute {}, its steps add up to {total:.1} minutes", c[2].to_lowercase());
    Some(if total < minutes * 0.75 || total > minutes * 1.5 {
        CheckResult::fail(FlagKind::CountMismatch, ((total - minutes).abs() / minutes) as f32, what)
    } else {
        CheckResult::pass(FlagKind::CountMismatch, what)
    })
}

pub(super) fn check(instruction: &str, output: &str) -> Option<CheckResult> {
    password(instruction, output)
        .or_else(|| groups(instruction, output))
        .or_else(|| timed_routine(instruction, output))
        .or_else(|| a_few(instruction, output))
}
