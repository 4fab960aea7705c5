//! Arithmetic the prompt asks for, evaluated and compared with the response's answer: expressions
//! ("What is 12 * (3 + 4)?"), one-variable linear equations ("Solve 2x + 4 = 14"), percentages
//! ("15% of 240"), unit conversions ("Convert 10 km to miles", "25°C in Fahrenheit") and base
//! conversions ("45 to binary", "binary 101101 to decimal"); a binary string decoded to text is in
//! `given_text`.
//!
//! The check only speaks when the prompt clearly asks for the calculation and the response states a
//! number (or, for text and base conversions, a value of the asked form): a response without one is
//! not judged.

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::re;
use regex::Regex;
use std::sync::LazyLock;

/// Instruction words that ask for a computed answer.
static ASKS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(calculate|compute|evaluate|solve|what is|what's|what are|find|how much|how many|simplify|add|subtract|multiply|divide|convert|result|answer|equals?|value|perform|operation)\b",
    )
});

/// Instruction words meaning the response is not the computed value (a program, an explanation of the
/// method, a new problem).
static NOT_AN_ANSWER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(program|code|function|script|algorithm|pseudo-?code|python|java|javascript|c\+\+|sql|formula|derivative|integral|factori[sz]e|expand|word problem|create an? (equation|problem|expression)|generate an? (equation|problem|expression)|write an? (equation|problem|expression)|rewrite|explain|describe|steps|step by step|story|poem|estimate|approximate|round|nearest)\b",
    )
});

/// Numbers as written in a response: "1,200", "-3.5", "2/3", "45%".
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[^\w.])(-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?)(?:\s*/\s*(\d+)\b)?"));

/// One number stated in the response, with the precision it was written to.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stated {
    pub(super) value: f64,
    /// Half a unit in the last written place (0.5 for "16", 0.005 for "16.09"); 0 for fractions.
    half_ulp: f64,
    end: usize,
}

pub(super) fn stated_numbers(text: &str) -> Vec<Stated> {
    NUMBER
        .captures_iter(text)
        .filter_map(|c| {
            let m = c.get(1)?;
            let raw = m.as_str().replace(',', "");
            let mut value: f64 = raw.parse().ok()?;
            let decimals = raw.split_once('.').map_or(0, |(_, d)| d.len());
            let mut half_ulp = 0.5 * 10f64.powi(-(decimals as i32));
            let mut end = m.end();
            if let Some(den) = c.get(2) {
                let d: f64 = den.as_str().parse().ok()?;
                if d != 0.0 {
                    value /= d;
                    half_ulp = 0.0;
                    end = den.end();
                }
            }
            Some(Stated { value, half_ulp, end })
        })
        .collect()
}

/// Whether a stated number agrees with `expected`: equal to the places it was written to (so "3.33"
/// and "3.3" both state 10/3), or within 0.1% either way.
fn agrees(s: &Stated, expected: f64) -> bool {
    let tol = (s.half_ulp + 1e-9).max(expected.abs() * 1e-3);
    (s.value - expected).abs() <= tol
}

/// The response's answer for the reason line: the number after the last '=' or "is", else the last one.
fn answer_of<'a>(text: &str, nums: &'a [Stated]) -> Option<&'a Stated> {
    let marker = [text.rfind('='), text.rfind(" is "), text.rfind(" equals ")].into_iter().flatten().max();
    marker.and_then(|p| nums.iter().find(|n| n.end > p)).or(nums.last())
}

fn fmt_num(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-4 {
        format!("{v:.3e}")
    } else if v.fract().abs() < 1e-9 && v.abs() < 1e15 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.4}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Compares the response's numbers with `expected` for the calculation described by `what`.
fn compare(kind_of: &str, what: &str, expected: f64, output: &str) -> Option<CheckResult> {
    compare_within(kind_of, what, expected, output, 0.0)
}

/// [`compare`], where a number within `rel` of `expected` (relative) also agrees.
pub(super) fn compare_within(kind_of: &str, what: &str, expected: f64, output: &str, rel: f64) -> Option<CheckResult> {
    if !expected.is_finite() {
        return None;
    }
    let nums = stated_numbers(output);
    if nums.is_empty() {
        return None;
    }
    if nums.iter().any(|n| agrees(n, expected) || (n.value - expected).abs() <= rel * expected.abs()) {
        return Some(CheckResult::pass(
            FlagKind::Miscalculated,
            format!("{kind_of} {what} = {}: the response agrees", fmt_num(expected)),
        ));
    }
    let said = answer_of(output, &nums)?;
    Some(CheckResult::fail(
        FlagKind::Miscalculated,
        1.0,
        format!("{kind_of} {what} = {}, but the response says {}", fmt_num(expected), fmt_num(said.value)),
    ))
}

pub(super) fn check(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    if !ASKS.is_match(instruction) {
        return None;
    }
    if NOT_AN_ANSWER.is_match(instruction) {
        return estimate(instruction, input, output);
    }
    // En dashes and minus signs stand for minus ("7x – 6 = 27").
    let prompt = format!("{instruction}\n{input}").replace(['–', '−'], "-");
    base_conversion(instruction, input, output)
        .or_else(|| unit_conversion(&prompt, output))
        .or_else(|| percentage(&prompt, output))
        .or_else(|| equation(&prompt, output))
        .or_else(|| expression(&prompt, output))
}

// ---- expressions --------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Var,
    Op(char),
    Open,
    Close,
}

/// Tokens of an arithmetic text; `var` is the equation's variable letter, if any. `None` when the text
/// holds anything else.
fn tokenize(s: &str, var: Option<char>) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {}
            '0'..='9' | '.' => {
                let start = i;
                while i + 1 < chars.len()
                    && (chars[i + 1].is_ascii_digit()
                        || chars[i + 1] == '.'
                        || (chars[i + 1] == ',' && chars.get(i + 2).is_some_and(char::is_ascii_digit)))
                {
                    i += 1;
                }
                let text: String = chars[start..=i].iter().filter(|&&c| c != ',').collect();
                out.push(Tok::Num(text.parse().ok()?));
            }
            '+' | '-' | '^' | '/' | '*' => out.push(Tok::Op(c)),
            '×' | '·' | '∙' => out.push(Tok::Op('*')),
            '÷' => out.push(Tok::Op('/')),
            '−' | '–' => out.push(Tok::Op('-')),
            '(' | '[' => out.push(Tok::Open),
            ')' | ']' => out.push(Tok::Close),
            c if Some(c.to_ascii_lowercase()) == var => out.push(Tok::Var),
            // "3 x 4": an x between numbers multiplies.
            'x' | 'X' if var.is_none() => out.push(Tok::Op('*')),
            _ => return None,
        }
        i += 1;
    }
    Some(out)
}

/// Recursive-descent evaluation with implicit multiplication ("2x", "3(x + 1)").
struct Eval<'t> {
    toks: &'t [Tok],
    pos: usize,
    x: f64,
}

impl Eval<'_> {
    fn peek(&self) -> Option<Tok> {
        self.toks.get(self.pos).copied()
    }

    fn sum(&mut self) -> Option<f64> {
        let mut v = self.product()?;
        while let Some(Tok::Op(op @ ('+' | '-'))) = self.peek() {
            self.pos += 1;
            let r = self.product()?;
            v = if op == '+' { v + r } else { v - r };
        }
        Some(v)
    }

    fn product(&mut self) -> Option<f64> {
        let mut v = self.power()?;
        loop {
            match self.peek() {
                Some(Tok::Op(op @ ('*' | '/'))) => {
                    self.pos += 1;
                    let r = self.power()?;
                    v = if op == '*' { v * r } else { v / r };
                }
                Some(Tok::Num(_) | Tok::Var | Tok::Open) => v *= self.power()?,
                _ => return Some(v),
            }
        }
    }

    fn power(&mut self) -> Option<f64> {
        let base = self.unary()?;
        if let Some(Tok::Op('^')) = self.peek() {
            self.pos += 1;
            let e = self.power()?;
            return Some(base.powf(e));
        }
        Some(base)
    }

    fn unary(&mut self) -> Option<f64> {
        match self.peek()? {
            Tok::Op('-') => {
                self.pos += 1;
                Some(-self.unary()?)
            }
            Tok::Op('+') => {
                self.pos += 1;
                self.unary()
            }
            Tok::Num(n) => {
                self.pos += 1;
                Some(n)
            }
            Tok::Var => {
                self.pos += 1;
                Some(self.x)
            }
            Tok::Open => {
                self.pos += 1;
                let v = self.sum()?;
                (self.peek() == Some(Tok::Close)).then(|| self.pos += 1)?;
                Some(v)
            }
            _ => None,
        }
    }
}

fn evaluate(toks: &[Tok], x: f64) -> Option<f64> {
    let mut e = Eval { toks, pos: 0, x };
    let v = e.sum()?;
    (e.pos == toks.len()).then_some(v)
}

/// Word operators spelled as symbols.
fn symbolize(s: &str) -> String {
    static WORDS: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
        [
            (r"(?i)\s+multiplied\s+by\s+", " * "),
            (r"(?i)\s+divided\s+by\s+", " / "),
            (r"(?i)\s+times\s+", " * "),
            (r"(?i)\s+plus\s+", " + "),
            (r"(?i)\s+minus\s+", " - "),
            (r"(?i)\s+over\s+", " / "),
            (r"(?i)\s+to\s+the\s+power\s+of\s+", " ^ "),
            (r"(?i)\s+squared\b", " ^ 2"),
            (r"(?i)\s+cubed\b", " ^ 3"),
        ]
        .into_iter()
        .map(|(p, r)| (re(p), r))
        .collect()
    });
    let mut s = s.to_string();
    for (p, r) in WORDS.iter() {
        s = p.replace_all(&s, *r).into_owned();
    }
    s
}

/// Runs of numbers joined by operators or by implicit multiplication before a bracket ("12 * (3 + 4)",
/// "4 + 5(6 - 3)", "7 plus 5"); [`expression`] keeps those with at least one operator.
static EXPR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"[(\[]*-?\d[\d,]*(?:\.\d+)?[)\]]*(?:\s*[-+*/×÷^x−·]\s*[(\[]*-?\d[\d,]*(?:\.\d+)?[)\]]*|\s*[(\[]+-?\d[\d,]*(?:\.\d+)?[)\]]*)+",
    )
});

/// Relative error an asked estimate may have.
const ESTIMATE_TOLERANCE: f64 = 0.1;

/// "Estimate the value of 6/9 + 4": an expression whose answer may be off by a tenth either way.
fn estimate(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    static ESTIMATE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(estimate|approximate)\b"));
    let rest = ESTIMATE.replace_all(instruction, "");
    if !ESTIMATE.is_match(instruction) || NOT_AN_ANSWER.is_match(&rest) {
        return None;
    }
    let prompt = format!("{instruction}\n{input}").replace(['–', '−'], "-");
    expression_within(&prompt, output, ESTIMATE_TOLERANCE)
}

fn expression(prompt: &str, output: &str) -> Option<CheckResult> {
    expression_within(prompt, output, 0.0)
}

/// The one expression of the prompt, evaluated; a stated number within `rel` of it agrees.
fn expression_within(prompt: &str, output: &str, rel: f64) -> Option<CheckResult> {
    let text = symbolize(prompt);
    // Exactly one expression: several usually mean a list of data or a problem to set up.
    let mut found = EXPR.find_iter(&text).filter(|m| {
        let s = m.as_str();
        // Dates, ranges, phone numbers and fractions alone are not calculations.
        (!s.contains('-') || s.contains(['+', '*', '/', '×', '÷', '^', 'x', ' ']))
            && (!s.contains('/') || s.contains(['+', '*', '-', '×', '÷', '^', 'x', ' ']))
    });
    let m = found.next()?;
    if found.next().is_some() {
        return None;
    }
    // Part of algebra ("5x^2 - 3x") or of a word ("A4 - 2").
    let before = text[..m.start()].chars().next_back();
    let after_c = text[m.end()..].chars().next();
    if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '^' | '=' | '.'))
        || after_c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '^' | '=' | '(' | '['))
    {
        return None;
    }
    let after = &text[m.end()..];
    // "2 + 3 = 5" already answers itself; a following word or unit makes it something else.
    let next = after.trim_start();
    if next.starts_with(['=', '%', '°'])
        || next.starts_with(char::is_alphabetic)
        || text[..m.start()].trim_end().ends_with(['=', '$'])
    {
        return None;
    }
    let toks = tokenize(m.as_str(), None)?;
    let n_ops = toks.iter().filter(|t| matches!(t, Tok::Op(_))).count();
    let n_nums = toks.iter().filter(|t| matches!(t, Tok::Num(_))).count();
    if n_ops == 0 || n_nums < 2 {
        return None;
    }
    let v = evaluate(&toks, 0.0)?;
    let shown = m.as_str().split_whitespace().collect::<Vec<_>>().join(" ");
    compare_within("", &shown, v, output, rel).map(|mut r| {
        r.detail = r.detail.trim_start().to_string();
        r
    })
}

// ---- equations ----------------------------------------------------------------------------------

static EQUATION: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)([-+*/^().\d\sa-z×÷−]*[a-z][-+*/^().\d\sa-z×÷−]*)=([-+*/^().\d\sa-z×÷−]+)"));

fn equation(prompt: &str, output: &str) -> Option<CheckResult> {
    let mut eqs = EQUATION.captures_iter(prompt);
    let c = eqs.next()?;
    if eqs.next().is_some() {
        return None;
    }
    let (lhs, rhs) = (c[1].trim(), c[2].trim());
    let (lhs, rhs) = (trim_to_math(lhs, true), trim_to_math(rhs, false));
    let letters: std::collections::BTreeSet<char> =
        format!("{lhs}{rhs}").chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_lowercase()).collect();
    if letters.len() != 1 {
        return None;
    }
    let var = *letters.first()?;
    let (l, r) = (tokenize(lhs, Some(var))?, tokenize(rhs, Some(var))?);
    let f = |x: f64| Some(evaluate(&l, x)? - evaluate(&r, x)?);
    let (f0, f1, f2) = (f(0.0)?, f(1.0)?, f(2.0)?);
    let a = f1 - f0;
    // Linear only: f(2) must lie on the line through f(0) and f(1).
    if a.abs() < 1e-12 || (f2 - (f0 + 2.0 * a)).abs() > 1e-9 * (1.0 + f2.abs()) {
        return None;
    }
    let x = -f0 / a;
    compare("solving", &format!("{lhs} = {rhs} for {var}: {var}"), x, output).map(|mut r| {
        r.detail = r.detail.replacen(&format!("for {var}: {var} ="), &format!("gives {var} ="), 1);
        r
    })
}

/// The mathematical tail (left side) or head (right side) of an equation side written inside prose:
/// "Solve for x: 2x + 4" → "2x + 4".
fn trim_to_math(s: &str, left: bool) -> &str {
    let is_math_word = |w: &str| {
        w.chars().all(|c| c.is_ascii_digit() || "+-*/^().×÷−".contains(c))
            || (w.chars().filter(|c| c.is_ascii_alphabetic()).count() == 1
                && w.chars().any(|c| c.is_ascii_alphabetic())
                && w.chars().all(|c| c.is_ascii_alphanumeric() || "+-*/^().".contains(c)))
    };
    let words: Vec<&str> = s.split_whitespace().collect();
    let keep: Vec<&str> = if left {
        let n = words.iter().rev().take_while(|w| is_math_word(w)).count();
        words[words.len() - n..].to_vec()
    } else {
        words.iter().copied().take_while(|w| is_math_word(w)).collect()
    };
    let joined = keep.join(" ");
    match s.find(&joined) {
        Some(i) if !joined.is_empty() => s[i..i + joined.len()].trim_end_matches(['.', ',']),
        _ => "",
    }
}

// ---- percentages --------------------------------------------------------------------------------

static PERCENT_OF: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(\d+(?:\.\d+)?)\s*(?:%|percent|per cent)\s+of\s+(?:\$|€|£)?(\d[\d,]*(?:\.\d+)?)"));

fn percentage(prompt: &str, output: &str) -> Option<CheckResult> {
    let c = PERCENT_OF.captures(prompt)?;
    let p: f64 = c[1].parse().ok()?;
    let base: f64 = c[2].replace(',', "").parse().ok()?;
    // "Increase 80 by 15%" asks for something else; only the plain "p% of n" is compared.
    let rest = &prompt[c.get(0)?.end()..];
    if prompt.to_lowercase().contains("increase") || prompt.to_lowercase().contains("discount") || rest.contains('%') {
        return None;
    }
    compare("", &format!("{}% of {}", fmt_num(p), fmt_num(base)), p / 100.0 * base, output).map(|mut r| {
        r.detail = r.detail.trim_start().to_string();
        r
    })
}

// ---- unit conversions ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Dim {
    Length,
    Mass,
    Volume,
    Time,
    Temperature,
}

/// A unit: its dimension and size in the dimension's base unit (metre, kilogram, litre, second;
/// temperature is handled apart).
struct Unit {
    names: &'static [&'static str],
    dim: Dim,
    factor: f64,
}

#[rustfmt::skip]
const UNITS: &[Unit] = &[
    Unit { names: &["millimeters", "millimetres", "millimeter", "millimetre", "mm"], dim: Dim::Length, factor: 0.001 },
    Unit { names: &["centimeters", "centimetres", "centimeter", "centimetre", "cm"], dim: Dim::Length, factor: 0.01 },
    Unit { names: &["kilometers", "kilometres", "kilometer", "kilometre", "km"], dim: Dim::Length, factor: 1000.0 },
    Unit { names: &["meters", "metres", "meter", "metre", "m"], dim: Dim::Length, factor: 1.0 },
    Unit { names: &["inches", "inch", "in"], dim: Dim::Length, factor: 0.0254 },
    Unit { names: &["feet", "foot", "ft"], dim: Dim::Length, factor: 0.3048 },
    Unit { names: &["yards", "yard", "yd"], dim: Dim::Length, factor: 0.9144 },
    Unit { names: &["miles", "mile", "mi"], dim: Dim::Length, factor: 1609.344 },
    Unit { names: &["milligrams", "milligram", "mg"], dim: Dim::Mass, factor: 1e-6 },
    Unit { names: &["kilograms", "kilogram", "kg", "kgs"], dim: Dim::Mass, factor: 1.0 },
    Unit { names: &["grams", "gram", "g"], dim: Dim::Mass, factor: 0.001 },
    Unit { names: &["metric tons", "metric ton", "tonnes", "tonne", "mt"], dim: Dim::Mass, factor: 1000.0 },
    Unit { names: &["pounds", "pound", "lbs", "lb"], dim: Dim::Mass, factor: 0.453_592_37 },
    Unit { names: &["ounces", "ounce", "oz"], dim: Dim::Mass, factor: 0.028_349_523_125 },
    Unit { names: &["milliliters", "millilitres", "milliliter", "millilitre", "ml"], dim: Dim::Volume, factor: 0.001 },
    Unit { names: &["liters", "litres", "liter", "litre", "l"], dim: Dim::Volume, factor: 1.0 },
    Unit { names: &["seconds", "second", "secs", "sec"], dim: Dim::Time, factor: 1.0 },
    Unit { names: &["minutes", "minute", "mins", "min"], dim: Dim::Time, factor: 60.0 },
    Unit { names: &["hours", "hour", "hrs", "hr"], dim: Dim::Time, factor: 3600.0 },
    Unit { names: &["days", "day"], dim: Dim::Time, factor: 86400.0 },
    Unit { names: &["weeks", "week"], dim: Dim::Time, factor: 604_800.0 },
    Unit { names: &["degrees celsius", "degree celsius", "celsius", "centigrade", "°c", "ºc", "c"], dim: Dim::Temperature, factor: 0.0 },
    Unit { names: &["degrees fahrenheit", "degree fahrenheit", "fahrenheit", "°f", "ºf", "f"], dim: Dim::Temperature, factor: 1.0 },
    Unit { names: &["kelvin", "k"], dim: Dim::Temperature, factor: 2.0 },
];

/// Unit names longest first, as one alternation.
fn unit_alternation() -> String {
    let mut names: Vec<&str> = UNITS.iter().flat_map(|u| u.names.iter().copied()).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names.iter().map(|n| regex::escape(n)).collect::<Vec<_>>().join("|")
}

static QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(r"(?i)(-?\d[\d,]*(?:\.\d+)?)\s*(?:degrees\s+)?({})(?:[^a-z°º]|$)", unit_alternation()))
});
static TARGET: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)\b(?:to|into|in)\s+(?:degrees\s+)?({})(?:[^a-z°º]|$)", unit_alternation())));

fn unit(name: &str) -> Option<&'static Unit> {
    let n = name.to_lowercase();
    UNITS.iter().find(|u| u.names.contains(&n.as_str()))
}

fn to_celsius(v: f64, scale: f64) -> f64 {
    match scale as i32 {
        0 => v,
        1 => (v - 32.0) * 5.0 / 9.0,
        _ => v - 273.15,
    }
}

fn from_celsius(c: f64, scale: f64) -> f64 {
    match scale as i32 {
        0 => c,
        1 => c * 9.0 / 5.0 + 32.0,
        _ => c + 273.15,
    }
}

fn unit_conversion(prompt: &str, output: &str) -> Option<CheckResult> {
    let lower = prompt.to_lowercase();
    if !(lower.contains("convert") || lower.contains("how many") || lower.contains("what is") || lower.contains(" in "))
    {
        return None;
    }
    let mut quantities = QUANTITY.captures_iter(prompt);
    let q = quantities.next()?;
    if quantities.next().is_some() {
        return None;
    }
    let value: f64 = q[1].replace(',', "").parse().ok()?;
    let from_name = q.get(2)?;
    let from = unit(from_name.as_str())?;
    // Single letters ("m", "g", "c") only count as units right after a number, never as a target
    // unless spelled with a degree sign; the target must come after "to", "into" or "in".
    let target = TARGET
        .captures_iter(prompt)
        .filter(|c| c.get(1).is_some_and(|m| m.start() != from_name.start()))
        .filter_map(|c| {
            let name = c.get(1)?.as_str();
            let u = unit(name)?;
            (name.chars().count() > 1 || name.starts_with(['°', 'º'])).then_some((name.to_string(), u))
        })
        .find(|(_, u)| u.dim == from.dim && !std::ptr::eq(*u, from))?;
    let (to_name, to) = target;
    let expected = if from.dim == Dim::Temperature {
        from_celsius(to_celsius(value, from.factor), to.factor)
    } else {
        value * from.factor / to.factor
    };
    let what = format!("{} {} in {}", q[1].trim(), from_name.as_str(), to_name);
    let r = compare("converting", &what, expected, output)?;
    // Conversions are usually rounded: accept 1% either way before calling the answer wrong.
    if r.failed && stated_numbers(output).iter().any(|n| (n.value - expected).abs() <= expected.abs() * 0.01) {
        return None;
    }
    Some(r)
}

// ---- base conversions ---------------------------------------------------------------------------

static BASE_TARGET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:to|into|in|as)\s+(?:a\s+|an\s+|its\s+)?(binary|hexadecimal|hex|octal|decimal|base[- ]?(?:2|8|10|16))\b",
    )
});
static BASE_SOURCE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(binary|hexadecimal|hex|octal|decimal|base[- ]?(?:2|8|10|16))?\s*(?:number|value|integer|numeral)?\s*:?\s*\(?(0[xb])?([0-9a-f]+)\)?(?:_?(2|8|10|16)|\s*\(base\s*(2|8|10|16)\))?\b",
    )
});

fn base_of(word: &str) -> Option<u32> {
    let w = word.to_lowercase().replace([' ', '-'], "");
    Some(match w.as_str() {
        "binary" | "base2" | "0b" | "2" => 2,
        "octal" | "base8" | "8" => 8,
        "decimal" | "base10" | "10" => 10,
        "hexadecimal" | "hex" | "base16" | "0x" | "16" => 16,
        _ => return None,
    })
}

fn base_conversion(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    // En dashes and minus signs stand for minus ("7x – 6 = 27").
    let prompt = format!("{instruction}\n{input}").replace(['–', '−'], "-");
    let t = BASE_TARGET.captures(&prompt)?;
    let target_word = t.get(1)?;
    let to = base_of(target_word.as_str())?;
    // The number: in the input when there is one, else in the instruction (not the target word).
    let source_text = if input.trim().is_empty() { instruction } else { input };
    // "Convert this binary number to decimal": the base named outside the target phrase.
    let rest = format!("{}{}", &prompt[..target_word.start()], &prompt[target_word.end()..]);
    static BASE_WORD: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)\b(binary|hexadecimal|hex|octal|base[- ]?(?:2|8|16))\b"));
    let named_base = BASE_WORD.find(&rest).and_then(|m| base_of(m.as_str())).unwrap_or(10);
    let candidates: Vec<(u32, String)> = BASE_SOURCE
        .captures_iter(source_text)
        .filter_map(|c| {
            let digits = c.get(3)?.as_str();
            let named = c.get(1).map(|m| m.as_str()).or(c.get(2).map(|m| m.as_str()));
            let sub = c.get(4).or(c.get(5)).map(|m| m.as_str());
            let from = named.and_then(base_of).or(sub.and_then(base_of)).unwrap_or(named_base);
            let ok = digits.chars().all(|ch| ch.is_digit(from)) && digits.chars().any(|ch| ch.is_ascii_digit());
            (ok && digits.len() <= 40).then(|| (from, digits.to_string()))
        })
        .collect();
    let [(from, digits)] = candidates.as_slice() else { return None };
    if *from == to {
        return None;
    }
    let n = u128::from_str_radix(digits, *from).ok()?;
    let expected = to_radix(n, to);
    let name = |b: u32| match b {
        2 => "binary",
        8 => "octal",
        10 => "decimal",
        _ => "hexadecimal",
    };
    let what = format!("{digits} ({}) in {}", name(*from), name(to));
    // The response's values of the target base: maximal runs of its digits.
    let strip = |s: &str| s.trim_start_matches("0x").trim_start_matches("0b").trim_start_matches('0').to_lowercase();
    let flat: String = output.chars().filter(|c| *c != '_' && *c != ',').collect();
    let grouped_binary = to == 2 && output.split_whitespace().all(|w| w.chars().all(|c| c == '0' || c == '1'));
    let runs: Vec<String> = if grouped_binary {
        vec![output.split_whitespace().collect::<String>()]
    } else {
        flat.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_digit(to) || "xXbB".contains(c)))
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect()
    };
    if runs.is_empty() {
        return None;
    }
    let want = strip(&expected);
    let want = if want.is_empty() { "0".to_string() } else { want };
    if runs.iter().any(|r| {
        let s = strip(r);
        (if s.is_empty() { "0".to_string() } else { s }) == want
    }) {
        return Some(CheckResult::pass(
            FlagKind::Miscalculated,
            format!("converting {what} gives {expected}: the response agrees"),
        ));
    }
    // A response that restates the source number and nothing else of the target base says nothing.
    let said = runs.iter().rev().find(|r| strip(r) != strip(digits))?;
    Some(CheckResult::fail(
        FlagKind::Miscalculated,
        1.0,
        format!("converting {what} gives {expected}, but the response says {said}"),
    ))
}

fn to_radix(mut n: u128, radix: u32) -> String {
    if n == 0 {
        return "0".into();
    }
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(std::char::from_digit((n % radix as u128) as u32, radix).unwrap_or('?'));
        n /= radix as u128;
    }
    digits.iter().rev().collect()
}
