//! Numbers the prompt lets you compute with a formula, compared with the response's: the volume of a
//! cone, cylinder or sphere, a sphere's surface, a circle's area or circumference (from a radius or a
//! diameter and a height), a triangle's area from its three vertices, the gravitational force between
//! two masses, and a number written in words ("a million and one") converted to digits.
//!
//! Like `arithmetic`, a check speaks only when the prompt gives exactly the quantities the formula
//! needs and the response states a number; a number within 1% agrees (π written as 3.14).

use super::CheckResult;
use super::arithmetic::{compare_within, stated_numbers};
use super::constraints::NUMBER_WORDS;
use crate::quality::text::re;
use regex::Regex;
use std::sync::LazyLock;

/// How close a stated number must be: π as 3.14, g as 6.67e-11.
const REL: f64 = 0.01;

const NUM: &str = r"(\d+(?:\.\d+)?)";
const LENGTH_UNIT: &str =
    r"(?:\s*(?:mm|cm|m|km|in|inch|inches|ft|feet|foot|meters?|metres?|centimeters?|centimetres?|units?|yards?)\b)?";

/// The one value the prompt gives for `quantity` ("radius of 4 cm", "8 cm in diameter", "height is
/// 12"); none when it gives none or several different ones.
fn quantity(prompt: &str, quantity: &str) -> Option<f64> {
    let before = re(&format!(r"(?i)\b{quantity}\s*(?:of|is|=|:|equal to|measuring)?\s*(?:of\s+)?{NUM}"));
    let after = re(&format!(r"(?i){NUM}{LENGTH_UNIT}\s+(?:in\s+|of\s+)?{quantity}\b"));
    let mut values: Vec<f64> =
        before.captures_iter(prompt).chain(after.captures_iter(prompt)).filter_map(|c| c[1].parse().ok()).collect();
    values.dedup_by(|a, b| a == b);
    values.sort_by(f64::total_cmp);
    values.dedup();
    (values.len() == 1).then(|| values[0])
}

/// A radius from a radius or a diameter (not both).
fn radius(prompt: &str) -> Option<f64> {
    match (quantity(prompt, "radius"), quantity(prompt, "diameter")) {
        (Some(r), None) => Some(r),
        (None, Some(d)) => Some(d / 2.0),
        _ => None,
    }
}

static SHAPE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(cones?|cylinders?|spheres?|balls?|circles?)\b"));
static MEASURE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(volume|surface area|area|circumference|perimeter)\b"));
static ASKS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(calculate|compute|find|what is|what's|determine|how much|work out)\b"));
/// The response is not the computed value: code, a formula, a method.
static NOT_AN_ANSWER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(program|code|function|script|algorithm|python|java|javascript|c\+\+|formula|explain|describe|equation|derive|steps)\b",
    )
});

/// The volume, surface or area the prompt asks of one shape.
fn shape(prompt: &str, output: &str) -> Option<CheckResult> {
    let shapes: Vec<String> =
        SHAPE.find_iter(prompt).map(|m| m.as_str().to_lowercase().trim_end_matches('s').to_string()).collect();
    let shape = shapes.first()?.clone();
    let measures: Vec<String> = MEASURE.find_iter(prompt).map(|m| m.as_str().to_lowercase()).collect();
    if shapes.iter().any(|s| *s != shape) || measures.is_empty() || measures.iter().any(|m| *m != measures[0]) {
        return None;
    }
    let r = radius(prompt)?;
    let pi = std::f64::consts::PI;
    let h = || quantity(prompt, "height");
    let (what, value) = match (shape.as_str(), measures[0].as_str()) {
        ("cone", "volume") => ("the volume of the cone", pi * r * r * h()? / 3.0),
        ("cylinder", "volume") => ("the volume of the cylinder", pi * r * r * h()?),
        ("sphere" | "ball", "volume") => ("the volume of the sphere", 4.0 / 3.0 * pi * r.powi(3)),
        ("sphere" | "ball", "surface area") => ("the surface area of the sphere", 4.0 * pi * r * r),
        ("circle", "area") => ("the area of the circle", pi * r * r),
        ("circle", "circumference" | "perimeter") => ("the circumference of the circle", 2.0 * pi * r),
        _ => return None,
    };
    let dims = h().map_or(format!("r = {r}"), |h| format!("r = {r}, h = {h}"));
    compare_within("by formula,", &format!("{what} ({dims})"), value, output, REL)
}

static POINT: LazyLock<Regex> = LazyLock::new(|| re(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)"));
static TRIANGLE_AREA: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\barea\b[^.?!]*\btriangle\b|\btriangle\b[^.?!]*\barea\b"));

/// The area of a triangle given by its three vertices (the shoelace formula).
fn triangle(prompt: &str, output: &str) -> Option<CheckResult> {
    TRIANGLE_AREA.find(prompt)?;
    let pts: Vec<(f64, f64)> =
        POINT.captures_iter(prompt).filter_map(|c| Some((c[1].parse().ok()?, c[2].parse().ok()?))).collect();
    let [(x1, y1), (x2, y2), (x3, y3)] = pts[..] else { return None };
    let area = 0.5 * (x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)).abs();
    compare_within("by the shoelace formula,", "the area of the triangle with those vertices", area, output, REL)
}

static GRAVITY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(gravitational (force|attraction|pull)|force of (gravity|gravitational attraction|attraction))\b")
});
static MASS: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(\d+(?:\.\d+)?)\s*(?:kg|kilograms?)\b"));
static APART: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(\d+(?:\.\d+)?)\s*(?:m|meters?|metres?)\s+(?:apart|away)|\bdistance (?:of|is|between them is)\s+(\d+(?:\.\d+)?)\s*(?:m|meters?|metres?)\b",
    )
});
/// Powers of ten as written in a response ("2.67 x 10^-10", "2.67e-10").
static SCIENTIFIC: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\d+(?:\.\d+)?)\s*(?:[x×*·]\s*10\s*\^\s*\(?\s*([-−–]?\d+)\)?|[eE]([-+−]?\d+))"));
/// Powers of ten the rewrite above cannot read (superscripts).
static OTHER_POWER: LazyLock<Regex> = LazyLock::new(|| re(r"10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]|10\s*\^|[x×]\s*10\b"));

/// Scientific notation written out as plain decimals, so the stated numbers can be read.
fn plain_numbers(output: &str) -> String {
    SCIENTIFIC
        .replace_all(output, |c: &regex::Captures| {
            let m: f64 = c[1].parse().unwrap_or(f64::NAN);
            let e: i32 =
                c.get(2).or(c.get(3)).map_or("0", |e| e.as_str()).replace(['−', '–'], "-").parse().unwrap_or(0);
            let v = m * 10f64.powi(e);
            if (-30..=30).contains(&e) && v.is_finite() {
                format!("{v:.40}").trim_end_matches('0').to_string()
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

/// Newton's gravitational force between two masses in kilograms a distance in metres apart.
fn gravity(prompt: &str, output: &str) -> Option<CheckResult> {
    GRAVITY.find(prompt)?;
    let masses: Vec<f64> = MASS.captures_iter(prompt).filter_map(|c| c[1].parse().ok()).collect();
    let (m1, m2) = match masses[..] {
        [m] if prompt.to_lowercase().contains("each") => (m, m),
        [a, b] => (a, b),
        _ => return None,
    };
    let mut apart = APART.captures_iter(prompt).filter_map(|c| c.get(1).or(c.get(2))?.as_str().parse::<f64>().ok());
    let d = apart.next().filter(|d| *d > 0.0)?;
    if apart.next().is_some() {
        return None;
    }
    let plain = plain_numbers(output);
    if OTHER_POWER.is_match(&plain) {
        return None;
    }
    let force = 6.674e-11 * m1 * m2 / (d * d);
    compare_within("by Newton's law,", &format!("the force G*{m1}*{m2}/{d}^2 in newtons"), force, &plain, REL)
}

/// The value of English number words ("a million and one", "two hundred fifty-three"); none when
/// any word is not a number word.
fn number_words(text: &str) -> Option<f64> {
    const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
    let lower = text.trim().trim_end_matches('.').to_lowercase();
    let words: Vec<&str> = lower.split([' ', '-']).filter(|w| !w.is_empty()).collect();
    let (mut total, mut group, mut any) = (0f64, 0f64, false);
    for (i, w) in words.iter().enumerate() {
        if let Some(v) = NUMBER_WORDS[..20].iter().position(|s| s == w) {
            group += v as f64;
        } else if let Some(v) = TENS.iter().position(|s| s == w) {
            group += 20.0 + 10.0 * v as f64;
        } else if *w == "a" && i == 0 {
            group += 1.0;
        } else if *w == "and" && i > 0 {
            continue;
        } else if *w == "hundred" {
            group = group.max(1.0) * 100.0;
        } else if let Some(scale) = match *w {
            "thousand" => Some(1e3),
            "million" => Some(1e6),
            "billion" => Some(1e9),
            _ => None,
        } {
            total += group.max(1.0) * scale;
            group = 0.0;
        } else {
            return None;
        }
        any |= *w != "a";
    }
    (any && words.len() >= 2).then_some(total + group)
}

/// Conversions to another kind of number: not a number in digits.
static OTHER_FORM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(binary|hex|hexadecimal|octal|base|roman|percent|percentage|fraction|scientific|words?|spell|translate|spanish|french|german|ordinal)\b",
    )
});
static TO_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(convert|digits?|numerals?|numeric|numerical|number form|write)\b"));

/// A number given in words, converted to digits.
fn words_to_digits(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    if !TO_DIGITS.is_match(instruction) || OTHER_FORM.is_match(instruction) {
        return None;
    }
    let value = number_words(input)?;
    if stated_numbers(output).len() != 1 {
        return None;
    }
    compare_within("converting", &format!("'{}' to digits", input.trim()), value, output, 0.0)
}

pub(super) fn check(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    if let Some(r) = words_to_digits(instruction, input, output) {
        return Some(r);
    }
    if !ASKS.is_match(instruction) || NOT_AN_ANSWER.is_match(instruction) {
        return None;
    }
    let prompt = format!("{instruction}\n{input}");
    gravity(&prompt, output).or_else(|| triangle(&prompt, output)).or_else(|| shape(&prompt, output))
}
