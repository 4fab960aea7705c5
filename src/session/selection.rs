//! Which records an action applies to: a review status (or all), optionally only those with a tag.
//! Shared by export, training and the TUI.

use super::{Session, Status};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which records to use: a status (or all), optionally only those carrying a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// `None` = every status.
    pub status: Option<Status>,
    pub tag: Option<String>,
    /// Only these positions (the records marked in the TUI); `None`: every record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<usize>>,
}

impl Selection {
    /// Parses `all|accepted|rejected|unreviewed|needs-edit`, each optionally followed by `,tag:NAME`
    /// (or just `tag:NAME`, meaning all statuses).
    pub fn parse(s: &str) -> Result<Selection, String> {
        let mut sel = Selection::default();
        for part in s.split(',').map(str::trim) {
            if let Some(t) = part.strip_prefix("tag:") {
                if t.is_empty() {
                    return Err("empty tag in selection".into());
                }
                sel.tag = Some(t.to_string());
            } else if part == "all" {
                sel.status = None;
            } else {
                sel.status = Some(Status::from_name(part).ok_or_else(|| {
                    format!("unknown selection `{part}` (all, accepted, rejected, unreviewed, needs-edit, tag:NAME)")
                })?);
            }
        }
        Ok(sel)
    }

    /// Exactly the records at `positions` (whatever their status).
    pub fn marked(mut positions: Vec<usize>) -> Selection {
        positions.sort_unstable();
        positions.dedup();
        Selection { records: Some(positions), ..Selection::default() }
    }

    /// Adds a tag filter.
    pub fn with_tag(mut self, tag: Option<String>) -> Selection {
        if tag.is_some() {
            self.tag = tag;
        }
        self
    }

    /// Whether the record at `pos` has the status and tag asked for (`records` is applied by
    /// [`Selection::positions`]).
    pub fn matches(&self, session: &Session, pos: usize) -> bool {
        if self.status.is_some_and(|s| session.status(pos) != s) {
            return false;
        }
        match &self.tag {
            Some(t) => session.review(pos).tags.iter().any(|x| x == t),
            None => true,
        }
    }

    /// Positions of the selected records, in file order (malformed ones included: they are reported).
    pub fn positions(&self, session: &Session) -> Vec<usize> {
        let n = session.dataset().len();
        match &self.records {
            Some(r) => r.iter().copied().filter(|&p| p < n && self.matches(session, p)).collect(),
            None => (0..n).filter(|&p| self.matches(session, p)).collect(),
        }
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.records, self.status) {
            (Some(r), None) => write!(f, "marked:{}", r.len())?,
            (Some(r), Some(s)) => write!(f, "marked:{},{}", r.len(), s.name())?,
            (None, s) => f.write_str(s.map_or("all", Status::name))?,
        }
        if let Some(t) = &self.tag {
            write!(f, ",tag:{t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_parse() {
        assert_eq!(Selection::parse("all").unwrap(), Selection::default());
        let s = Selection::parse("accepted,tag:math").unwrap();
        assert_eq!((s.status, s.tag.as_deref()), (Some(Status::Accepted), Some("math")));
        assert_eq!(Selection::parse("needs-edit").unwrap().status, Some(Status::NeedsEdit));
        assert!(Selection::parse("maybe").is_err());
        assert_eq!(s.to_string(), "accepted,tag:math");
        let m = Selection::marked(vec![4, 1, 4]);
        assert_eq!((m.records.as_deref(), m.to_string()), (Some(&[1, 4][..]), "marked:2".to_string()));
    }
}
