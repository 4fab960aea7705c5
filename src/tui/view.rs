//! Which records the list shows and in what order: filters (status, tag, flag, changed, any
//! numeric signal of the [registry](crate::judge::signal_registry) in a range: `len>200`,
//! `keep<0.5`) and sort keys (index or any numeric signal).

use super::jobs::SignalStore;
use crate::judge::{Signal, signal_registry};
use crate::session::{Session, Status};

/// Comparison in a numeric condition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// One condition; a filter keeps records meeting all of them.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Status(Status),
    Tag(String),
    /// A flag by name, or any flag.
    Flag(Option<String>),
    NoFlag,
    Changed,
    HasNote,
    /// The record's `category` (Dolly, and Alpaca files that carry one).
    Category(String),
    Num {
        signal: Signal,
        op: Op,
        value: f32,
    },
    Not(Box<Cond>),
}

/// The active filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub conds: Vec<Cond>,
}

fn status_named(s: &str) -> Option<Status> {
    Status::from_name(s).or(match s {
        "a" | "acc" | "ok" => Some(Status::Accepted),
        "r" | "x" | "rej" => Some(Status::Rejected),
        "e" | "f" | "edit" | "needs_edit" => Some(Status::NeedsEdit),
        "u" | "new" | "todo" => Some(Status::Unreviewed),
        _ => None,
    })
}

fn parse_cond(term: &str) -> Result<Cond, String> {
    if let Some(rest) = term.strip_prefix('!').or_else(|| term.strip_prefix('-')) {
        return Ok(Cond::Not(Box::new(parse_cond(rest)?)));
    }
    if let Some(v) = term.strip_prefix("status:").or_else(|| term.strip_prefix("s:")) {
        return status_named(v).map(Cond::Status).ok_or_else(|| format!("unknown status `{v}`"));
    }
    if let Some(v) = term.strip_prefix("tag:").or_else(|| term.strip_prefix("t:")) {
        return Ok(Cond::Tag(v.to_string()));
    }
    if let Some(v) = term.strip_prefix("category:").or_else(|| term.strip_prefix("cat:")) {
        return Ok(Cond::Category(v.to_string()));
    }
    if let Some(v) = term.strip_prefix("flag:") {
        return Ok(Cond::Flag((!v.is_empty() && v != "any").then(|| v.to_string())));
    }
    match term {
        "flagged" => return Ok(Cond::Flag(None)),
        "clean" | "noflag" => return Ok(Cond::NoFlag),
        "changed" | "edited" => return Ok(Cond::Changed),
        "note" => return Ok(Cond::HasNote),
        _ => {}
    }
    if let Some(st) = status_named(term).filter(|_| term.len() > 2) {
        return Ok(Cond::Status(st));
    }
    for (sym, op) in [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt), ("=", Op::Eq)] {
        if let Some((name, v)) = term.split_once(sym) {
            let value: f32 = v.parse().map_err(|_| format!("`{v}` is not a number in `{term}`"))?;
            if name.is_empty() {
                return Err(format!("no signal name in `{term}`"));
            }
            let Some(signal) = Signal::from_name(name) else {
                return Err(format!("unknown signal `{name}` in `{term}` (signals: {})", signal_registry::names()));
            };
            return Ok(Cond::Num { signal, op, value });
        }
    }
    Err(format!("cannot read `{term}` (try status:accepted tag:x flag:refusal len>200 keep<0.5 changed)"))
}

impl Filter {
    /// Parses space-separated conditions.
    pub fn parse(s: &str) -> Result<Filter, String> {
        Ok(Filter { conds: s.split_whitespace().map(parse_cond).collect::<Result<_, _>>()? })
    }

    pub fn is_empty(&self) -> bool {
        self.conds.is_empty()
    }

    /// The filter as text (what `parse` reads back).
    pub fn text(&self) -> String {
        self.conds.iter().map(cond_text).collect::<Vec<_>>().join(" ")
    }

    /// The numeric signals the filter needs.
    pub fn signals(&self) -> Vec<Signal> {
        fn walk(c: &Cond, out: &mut Vec<Signal>) {
            match c {
                Cond::Num { signal, .. } => out.push(*signal),
                Cond::Not(c) => walk(c, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.conds.iter().for_each(|c| walk(c, &mut out));
        out
    }

    /// Whether the record at `pos` passes.
    pub fn passes(&self, s: &Session, sig: &SignalStore, pos: usize) -> bool {
        if self.conds.is_empty() {
            return true;
        }
        let Some(id) = s.dataset().entry(pos).map(|e| e.id) else { return false };
        self.conds.iter().all(|c| eval(c, s, sig, pos, id))
    }
}

fn cond_text(c: &Cond) -> String {
    match c {
        Cond::Status(st) => format!("status:{}", st.name()),
        Cond::Tag(t) => format!("tag:{t}"),
        Cond::Flag(None) => "flagged".into(),
        Cond::Flag(Some(f)) => format!("flag:{f}"),
        Cond::NoFlag => "clean".into(),
        Cond::Changed => "changed".into(),
        Cond::HasNote => "note".into(),
        Cond::Category(c) => format!("category:{c}"),
        Cond::Num { signal, op, value } => {
            let sym = match op {
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Eq => "=",
            };
            format!("{signal}{sym}{value}")
        }
        Cond::Not(c) => format!("!{}", cond_text(c)),
    }
}

fn eval(c: &Cond, s: &Session, sig: &SignalStore, pos: usize, id: u32) -> bool {
    match c {
        Cond::Status(st) => s.status(pos) == *st,
        Cond::Tag(t) => s.review(pos).tags.iter().any(|x| x == t),
        Cond::HasNote => !s.review(pos).note.is_empty(),
        Cond::Flag(None) => sig.flag_names(id).next().is_some(),
        Cond::Flag(Some(name)) => sig.flag_names(id).any(|f| f == name),
        Cond::NoFlag => sig.flag_names(id).next().is_none(),
        Cond::Changed => s.dataset().is_changed(pos),
        // Only a record that names a category is decoded.
        Cond::Category(c) => {
            let ds = s.dataset();
            memchr::memmem::find(ds.raw(pos), b"\"category\"").is_some()
                && ds.record(pos).and_then(|r| r.category).is_some_and(|x| x == *c)
        }
        Cond::Num { signal, op, value } => sig.value(*signal, id).is_some_and(|v| match op {
            Op::Lt => v < *value,
            Op::Le => v <= *value,
            Op::Gt => v > *value,
            Op::Ge => v >= *value,
            Op::Eq => (v - value).abs() < 1e-6,
        }),
        Cond::Not(c) => !eval(c, s, sig, pos, id),
    }
}

/// The sort order of the list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sort {
    /// None: file order; Some: by a numeric signal (records without it last).
    pub key: Option<Signal>,
    pub descending: bool,
}

impl Sort {
    /// Sorts positions in place.
    pub fn apply(&self, s: &Session, sig: &SignalStore, positions: &mut [usize]) {
        match &self.key {
            None => {
                positions.sort_unstable();
                if self.descending {
                    positions.reverse();
                }
            }
            Some(signal) => {
                let Some(values) = sig.numeric.get(signal) else { return };
                let ds = s.dataset();
                let mut keyed: Vec<(f32, usize)> = positions
                    .iter()
                    .map(|&p| {
                        let v = ds.entry(p).and_then(|e| values.get(&e.id)).copied().unwrap_or(f32::NAN);
                        (v, p)
                    })
                    .collect();
                let desc = self.descending;
                keyed.sort_unstable_by(|a, b| match (a.0.is_nan(), b.0.is_nan()) {
                    (true, true) => a.1.cmp(&b.1),
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => {
                        let o = a.0.total_cmp(&b.0);
                        (if desc { o.reverse() } else { o }).then(a.1.cmp(&b.1))
                    }
                });
                for (slot, (_, p)) in positions.iter_mut().zip(keyed) {
                    *slot = p;
                }
            }
        }
    }

    pub fn label(&self) -> String {
        let arrow = if self.descending { "↓" } else { "↑" };
        format!("{}{arrow}", self.key.map_or("index", Signal::name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip() {
        let f = Filter::parse("status:accepted tag:math flag:refusal len>200 !changed ifd<=0.5 category:qa").unwrap();
        assert_eq!(f.conds.len(), 7);
        assert_eq!(Filter::parse(&f.text()).unwrap(), f);
        assert_eq!(f.signals(), vec![Signal::Len, Signal::Ifd]);
        assert!(Filter::parse("len>abc").is_err());
        let typo = Filter::parse("kep<0.5").unwrap_err();
        assert!(typo.starts_with("unknown signal `kep`") && typo.contains("keep"), "{typo}");
        assert_eq!(Filter::parse("rejected").unwrap().conds, vec![Cond::Status(Status::Rejected)]);
    }
}
