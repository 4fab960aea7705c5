//! A response that gives only the result where the instruction asks for the method: "Implement
//! quick-sort to sort the array" answered with the sorted array, "Write a program to find the GCD"
//! answered with `12`. The answer may be right; the record still does not teach what it asks for.

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::re;
use crate::quality::text::snippet;
use regex::Regex;
use std::sync::LazyLock;

/// A verb of making followed, within a few words of the same clause, by an algorithm, a program or
/// code as its object.
static ASKS_FOR_METHOD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:write|develop|design|create|construct|implement|build|devise|come up with|generate)\b([^.?!:]{0,40}?)\b(algorithm|program|function|code|script|pseudo-?code|procedure|subroutine)\b",
    )
});

/// Words just before the noun that make it something else: a PIN or colour code, a TV or training
/// programme.
static OTHER_SENSE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:\d+|digits?|characters?|pin|morse|numerical|numeric|zip|postal|promo|discount|coupon|colou?r|hex|hexadecimal|rgb|html|ascii|unicode|secret|access|dress|country|area|binary|security|tv|television|exercise|training|loyalty|workout|fitness|diet|rewards?|radio|study|educational|mentor(?:ing|ship)|volunteer)\b[\s-]*$",
    )
});

/// The noun the instruction asks for, when it asks for a method rather than a result.
fn asked_method(instruction: &str) -> Option<String> {
    ASKS_FOR_METHOD.captures_iter(instruction).find(|c| !OTHER_SENSE.is_match(&c[1])).map(|c| c[2].to_lowercase())
}

/// Whether `output` is a bare result: one short line of numbers, letters or a list of them, with no
/// word of four letters or more and nothing of code (`=`, calls, statements).
fn bare_result(output: &str) -> bool {
    let t = output.trim();
    if t.is_empty() || t.chars().count() > 200 || t.contains('\n') {
        return false;
    }
    let mut letters_run = 0;
    for c in t.chars() {
        letters_run = if c.is_alphabetic() { letters_run + 1 } else { 0 };
        if letters_run >= 4 || "=();:{}".contains(c) {
            return false;
        }
    }
    t.chars().any(|c| c.is_ascii_digit() || c == ',')
}

pub(super) fn check(instruction: &str, output: &str) -> Option<CheckResult> {
    let noun = asked_method(instruction)?;
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    Some(if bare_result(output) {
        CheckResult::fail(
            FlagKind::ResultOnly,
            1.0,
            format!(
                "asked for {article} {noun}, the response gives only a result: \"{}\"",
                snippet(output.trim(), 40, false)
            ),
        )
    } else {
        CheckResult::pass(
            FlagKind::ResultOnly,
            format!("asked for {article} {noun}; the response is more than a bare result"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(instruction: &str, output: &str) -> Option<String> {
        check(instruction, output).filter(|r| r.failed).map(|r| r.detail)
    }

    #[test]
    fn a_bare_result_for_an_algorithm_fails() {
        let d = fails("Develop an algorithm to sort given 10 numbers in ascending order", "0,1,2,5,7,8,9,10,11,13");
        assert_eq!(
            d.as_deref(),
            Some("asked for an algorithm, the response gives only a result: \"0,1,2,5,7,8,9,10,11,13\"")
        );
        assert!(fails("Write a program to find the GCD of 24 and 36.", "12").is_some());
        assert!(fails("Implement the quick-sort algorithm to sort the following array.", "[2, 3, 4, 5, 7]").is_some());
    }

    #[test]
    fn code_steps_and_other_senses_pass() {
        let code = "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a";
        assert!(check("Write a program to find the GCD.", code).is_some_and(|r| !r.failed));
        let steps = "1. Compare each pair of neighbours and swap them when out of order. 2. Repeat until no swap.";
        assert!(check("Design an algorithm to sort numbers.", steps).is_some_and(|r| !r.failed));
        // A PIN, a colour code or a training programme is not a method.
        assert!(check("Generate a 4-digit PIN code.", "5678").is_none());
        assert!(check("Generate the hexadecimal code of the RGB colour.", "#FF2F93").is_none());
        assert!(check("Design a 12-week training program.", "12").is_none());
        // Asking for the result is not asking for the method.
        assert!(check("Sort the numbers in ascending order.", "1, 2, 3").is_none());
    }
}
