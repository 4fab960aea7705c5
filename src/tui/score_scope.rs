//! Which records `M` hands to the judge: the selection (or visual range) when there is one, else the
//! records a filter or search shows, else the whole file; the rows on screen go first.

use super::app::App;

/// The records to score and how to name them.
pub struct ScoreScope {
    /// Every record to score (malformed ones left out).
    pub ids: Vec<u32>,
    /// Those of them on screen now, to be scored first.
    pub on_screen: Vec<u32>,
    /// "of the selection", "of the filter", "in the file".
    pub what: &'static str,
}

/// The records `M` scores now.
pub fn scope(app: &App) -> ScoreScope {
    let ds = app.session.dataset();
    let id_of = |p: usize| ds.entry(p).filter(|e| !e.malformed).map(|e| e.id);
    let (positions, what): (Vec<usize>, _) = if app.visual.is_some() || !app.selection.is_empty() {
        (app.targets(), "of the selection")
    } else if !app.filter.is_empty() || app.search.matched.is_some() {
        ((0..app.shown()).filter_map(|i| app.pos_at(i)).collect(), "of the filter")
    } else {
        ((0..ds.len()).collect(), "in the file")
    };
    let ids: Vec<u32> = positions.into_iter().filter_map(id_of).collect();
    let wanted: std::collections::HashSet<u32> = ids.iter().copied().collect();
    let rows = app.list_rows();
    let on_screen = (app.offset..app.offset + rows)
        .filter_map(|i| app.pos_at(i))
        .filter_map(id_of)
        .filter(|id| wanted.contains(id))
        .collect();
    ScoreScope { ids, on_screen, what }
}
