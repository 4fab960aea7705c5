//! The precision contract: how often each flag was right on curator-labelled data, the one place
//! that number lives. A flag is on by default only when it was right (the curator would fix or drop
//! the record) at least [`MIN_PRECISION`] of the time over at least [`MIN_FIRES`] firings; the others
//! stay available, off by default, for a config to turn on.
//!
//! The decision uses the combined labels of the Alpaca validation slice: the curator's
//! (`../shared/data/labels/alpaca_curator_dev.jsonl`, 240 random + 88 flagged records) and sift-dev's
//! (`benches/data/sift_dev_labels.jsonl`, 400 random records labelled blind to the flags; see the
//! README beside it). The table ([`MEASURED`], in `precision_table.rs`) is written from both by
//! `cargo bench --bench flag_precision -- --write-table`, which also prints each set alone; the bench
//! fails when it measures other numbers than the table holds.

/// How one flag did on the labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measured {
    /// The flag's stable name (`FlagKind::name` or a model flag's name).
    pub name: &'static str,
    /// Labelled records it fired on.
    pub fires: u32,
    /// Of those, records the curator would fix or drop.
    pub right: u32,
}

include!("precision_table.rs");

/// Least precision of a flag that is on by default.
pub const MIN_PRECISION: f64 = 0.8;
/// Least number of firings on the combined labels before a flag's precision counts.
pub const MIN_FIRES: u32 = 8;

impl Measured {
    /// Share of firings on records the curator would fix or drop.
    pub fn precision(&self) -> f64 {
        if self.fires == 0 { 0.0 } else { self.right as f64 / self.fires as f64 }
    }

    /// Lower end of the 95% Wilson score interval of the precision.
    pub fn wilson_lower(&self) -> f64 {
        wilson_lower(self.right, self.fires)
    }

    /// Whether the flag meets the contract.
    pub fn meets_contract(&self) -> bool {
        self.fires >= MIN_FIRES && self.precision() >= MIN_PRECISION
    }

    /// "right 9 times in 10 on labelled data".
    pub fn note(&self) -> String {
        if self.fires == 0 {
            "never fired on labelled data".to_string()
        } else {
            let times = if self.right == 1 { "time" } else { "times" };
            format!("right {} {times} in {} on labelled data", self.right, self.fires)
        }
    }
}

/// Lower end of the 95% Wilson score interval for `right` successes in `n` trials (0 when n = 0).
pub fn wilson_lower(right: u32, n: u32) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (z, n, p) = (1.96f64, n as f64, right as f64 / n as f64);
    let z2 = z * z;
    ((p + z2 / (2.0 * n)) - z * ((p * (1.0 - p) + z2 / (4.0 * n)) / n).sqrt()) / (1.0 + z2 / n)
}

/// The measurement of the flag named `name`, if it was measured.
pub fn measured(name: &str) -> Option<&'static Measured> {
    MEASURED.iter().find(|m| m.name == name)
}

/// Whether the flag named `name` is on by default: measured, and meeting the contract.
pub fn on_by_default(name: &str) -> bool {
    measured(name).is_some_and(Measured::meets_contract)
}

/// `reason` with the flag's measured precision beside it, as the detail pane and `sift score` show it.
pub fn with_precision(name: &str, reason: &str) -> String {
    match measured(name) {
        Some(m) => format!("{reason} ({})", m.note()),
        None => format!("{reason} (not measured on labelled data)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_needs_both_precision_and_firings() {
        let m = |fires, right| Measured { name: "x", fires, right };
        assert!(m(10, 8).meets_contract());
        assert!(!m(10, 7).meets_contract());
        assert!(!m(7, 7).meets_contract(), "too few firings to trust");
        assert_eq!(m(10, 9).note(), "right 9 times in 10 on labelled data");
    }

    #[test]
    fn wilson_bound_is_below_the_point_estimate() {
        assert_eq!(wilson_lower(0, 0), 0.0);
        let lo = wilson_lower(9, 10);
        assert!(lo > 0.55 && lo < 0.9, "{lo}");
        assert!((wilson_lower(80, 100) - 0.711).abs() < 0.01);
    }
}
