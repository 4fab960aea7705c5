//! An equation the response states that is false: "7 x 8 = 14", "34 / 5 = 6.4", "3 + 8 = 10 is
//! true". Only one operation between two plain numbers is read, not part of a longer expression,
//! and a result rounded to the digits it shows is right.

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::looks_like_code;
use crate::quality::text::re;
use regex::Regex;
use std::sync::LazyLock;

static EQUATION: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\$?(\d[\d,]*(?:\.\d+)?)[ \t]*([-+*/x×÷])[ \t]*\$?(\d[\d,]*(?:\.\d+)?)[ \t]*=[ \t]*(-?)\$?(\d[\d,]*(?:\.\d+)?)")
});

fn number(s: &str) -> Option<f64> {
    let plain: String = s.chars().filter(|&c| c != ',').collect();
    // "1,5" is not a thousands separator: leave such numbers alone.
    if s.contains(',') && !s.split('.').next().unwrap_or("").split(',').skip(1).all(|g| g.len() == 3) {
        return None;
    }
    plain.parse().ok()
}

/// The first false equation in `output`, as (what it states, the true value).
fn false_equation(output: &str) -> Option<(String, f64, usize)> {
    let mut checked = 0;
    for c in EQUATION.captures_iter(output) {
        let m = c.get(0).expect("whole match");
        // Part of a longer expression or a word: "2 + 3 + 4 = 9", "x3 + 1", "= 5 x 2".
        let before = &output[..m.start()];
        if before.ends_with(|ch: char| ch.is_alphanumeric() || ch == '.')
            || before.trim_end_matches([' ', '\t']).ends_with(|ch: char| "+-*/×÷^(=".contains(ch))
            || before.ends_with(" x ")
            || before.ends_with(" X ")
        {
            continue;
        }
        let after = &output[m.end()..];
        if after.starts_with(|ch: char| ch.is_alphanumeric() || "%^(".contains(ch))
            || after.trim_start_matches([' ', '\t']).starts_with(|ch: char| "*/×÷^x+".contains(ch))
        {
            continue;
        }
        let (Some(a), Some(b), Some(stated)) = (number(&c[1]), number(&c[3]), number(&c[5])) else { continue };
        let stated = if c[4].is_empty() { stated } else { -stated };
        let value = match &c[2] {
            "+" => a + b,
            "-" => a - b,
            "*" | "x" | "×" => a * b,
            _ if b == 0.0 => continue,
            _ => a / b,
        };
        checked += 1;
        let decimals = c[5].split_once('.').map_or(0, |(_, d)| d.len()) as i32;
        let tolerance = (0.5 * 10f64.powi(-decimals)).max(0.006 * value.abs());
        if (value - stated).abs() > tolerance + 1e-9 {
            return Some((m.as_str().trim_start_matches('$').to_string(), value, checked));
        }
    }
    (checked > 0).then(|| (String::new(), f64::NAN, checked))
}

pub(super) fn check(output: &str) -> Option<CheckResult> {
    if looks_like_code(output) {
        return None;
    }
    let (stated, value, checked) = false_equation(output)?;
    Some(if stated.is_empty() {
        let s = if checked == 1 { "" } else { "s" };
        CheckResult::pass(FlagKind::Miscalculated, format!("the response's {checked} equation{s} hold"))
    } else {
        let value =
            if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{}", (value * 1e4).round() / 1e4) };
        CheckResult::fail(FlagKind::Miscalculated, 1.0, format!("the response states \"{stated}\", but it is {value}"))
    })
}

#[cfg(test)]
mod tests {
    use super::check;

    fn fails(output: &str) -> Option<String> {
        check(output).filter(|r| r.failed).map(|r| r.detail)
    }

    #[test]
    fn a_false_equation_in_the_response_fails() {
        assert_eq!(fails("7 x 8 = 14").as_deref(), Some("the response states \"7 x 8 = 14\", but it is 56"));
        assert_eq!(
            fails("(3 + 4 + 6 + 10 + 11 = 34; 34 / 5 = 6.4).").as_deref(),
            Some("the response states \"34 / 5 = 6.4\", but it is 6.8")
        );
        assert!(fails("This gives us $2.49 × 0.5 = $4.98.").is_some());
        assert!(fails("True. 3 + 8 = 10 is true.").is_some());
    }

    #[test]
    fn true_rounded_chained_and_code_equations_pass() {
        assert!(check("So 5 - 8 = -3 and 22 / 7 = 3.14 and 7 / 2 = 3.5.").is_some_and(|r| !r.failed));
        assert!(fails("100 / 3 = 33 people per group").is_none());
        // Part of a longer expression: not read.
        assert!(fails("2 + 3 + 4 = 9").is_none());
        assert!(fails("8 x 8 x 8 = 512").is_none());
        assert!(fails("3 + 4 = 7 x 2 = 14").is_none());
        assert!(fails("Solve 2x + 3 = 9").is_none());
        assert!(check("int half = 7 / 2; // 3\nprintf(\"%d\", 7 / 2 = 3);").is_none());
        assert!(check("No equations here.").is_none());
    }
}
