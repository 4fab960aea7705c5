//! Checks that verify rather than guess (in the spirit of IFEval's verifiable instructions): each one
//! measures something definite about a record (a stand-in input, a template variable, the number the
//! prompt's arithmetic or formula gives, an equation the response states, the count or form the
//! instruction asks for, a method asked for and not given, whether code parses) and says exactly what
//! it measured.
//!
//! [`run_checks`] is the stable API: one [`CheckResult`] per check that applies to the record, passed
//! or failed, so the judge can use them as features. [`super::heuristics::Flagger`] raises a flag for
//! each failed one whose kind is enabled.

mod arithmetic;
mod code;
mod composition;
mod constraints;
mod formulas;
mod given_text;
mod restated;
mod result_only;
mod stand_in;
mod stated_equation;
mod syllables;

pub use stand_in::is_stand_in_input;

use super::heuristics::FlagKind;
use serde::{Deserialize, Serialize};

/// What one check measured on one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The flag the check raises when the record fails it.
    pub kind: FlagKind,
    /// Whether the record fails the check.
    pub failed: bool,
    /// Size of the mismatch: 0 when the record passes; for counts `|found - asked| / asked`; 1 for a
    /// yes/no failure (wrong number, code that does not parse, a stand-in).
    pub value: f32,
    /// What was measured, for the user: "asked for 10 words, has 8".
    pub detail: String,
}

impl CheckResult {
    pub(crate) fn pass(kind: FlagKind, detail: impl Into<String>) -> Self {
        CheckResult { kind, failed: false, value: 0.0, detail: detail.into() }
    }

    pub(crate) fn fail(kind: FlagKind, value: f32, detail: impl Into<String>) -> Self {
        CheckResult { kind, failed: true, value, detail: detail.into() }
    }
}

/// Every check that applies to the record (instruction, input, response), in a fixed order:
/// stand-in input, template variables, arithmetic (else a formula's value), an equation the response
/// states, answers worked out from the given text (ordering, length, Morse code, anagrams), count
/// constraints (else a composition: a password's parts, groups, a timed routine), form constraints, a
/// bare result where a method is asked for, code syntax, a restated input passage.
pub fn run_checks(instruction: &str, input: &str, output: &str) -> Vec<CheckResult> {
    let mut out = Vec::new();
    out.extend(stand_in::stand_in_input(input));
    out.extend(stand_in::template_variable(instruction, input, output));
    if !output.trim().is_empty() {
        out.extend(
            arithmetic::check(instruction, input, output).or_else(|| formulas::check(instruction, input, output)),
        );
        out.extend(stated_equation::check(output));
        out.extend(given_text::check(instruction, input, output));
        out.extend(constraints::counts(instruction, input, output).or_else(|| composition::check(instruction, output)));
        out.extend(constraints::form(instruction, output));
        out.extend(result_only::check(instruction, output));
        out.extend(code::check(instruction, output));
        out.extend(restated::check(instruction, input, output));
    }
    out
}

#[cfg(test)]
mod tests;
