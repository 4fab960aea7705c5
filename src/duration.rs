//! Durations for people to read, the one formatter the CLI's progress lines and the TUI share.

/// Seconds in units: `42s`, `3m05s`, `2h07m`; `?` when unknown (not finite).
pub fn units(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// Seconds as a clock: `M:SS`, or `H:MM:SS` from an hour; `?` when unknown (not finite).
pub fn clock(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(units(42.4), "42s");
        assert_eq!(units(185.0), "3m05s");
        assert_eq!(units(7620.0), "2h07m");
        assert_eq!(units(f64::NAN), "?");
        assert_eq!(clock(59.6), "1:00");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock(-3.0), "0:00");
    }
}
