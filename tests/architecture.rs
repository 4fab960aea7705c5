//! The house rules that hold the layers apart, read from the source: the engine (every top-level
//! module but `tui` and `cli`) names neither front end, no two top-level modules import each
//! other, directly or round a circle, and inside the TUI the feature states name no `App`, so no
//! two tui modules import each other either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The front ends; everything else under `src/` is the engine.
const FRONT_ENDS: [&str; 2] = ["tui", "cli"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a source file: `src/judge/engine.rs` -> [judge, engine]; `mod.rs` and
/// `lib.rs` name their folder.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The top-level modules a file's code names: `crate::x` paths, and `super::` chains that climb
/// out of its own top-level module. Comments are skipped.
fn named_tops(module: &[String], text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (i, _) in code.match_indices("crate::") {
            let name: String = code[i + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.insert(name);
        }
        let mut rest = code;
        while let Some(i) = rest.find("super::") {
            let before = rest[..i].chars().last();
            let mut tail = &rest[i..];
            let mut ups = 0;
            while let Some(r) = tail.strip_prefix("super::") {
                ups += 1;
                tail = r;
            }
            rest = tail;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if ups >= module.len() {
                out.insert(tail.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
            }
        }
    }
    out
}

/// Top-level module -> the top-level modules it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let tops: BTreeSet<String> = files.iter().filter_map(|f| module_path(&src, f).first().cloned()).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let module = module_path(&src, f);
        let Some(top) = module.first() else { continue };
        let text = std::fs::read_to_string(f).unwrap();
        let names = named_tops(&module, &text).into_iter().filter(|n| n != top && tops.contains(n));
        g.entry(top.clone()).or_default().extend(names);
    }
    g
}

#[test]
fn the_engine_names_no_front_end() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut bad = Vec::new();
    for f in &files {
        let module = module_path(&src, f);
        match module.first() {
            Some(top) if !FRONT_ENDS.contains(&top.as_str()) => {}
            _ => continue,
        }
        let text = std::fs::read_to_string(f).unwrap();
        for name in named_tops(&module, &text) {
            if FRONT_ENDS.contains(&name.as_str()) {
                bad.push(format!("{} names crate::{name}", f.strip_prefix(&src).unwrap().display()));
            }
        }
    }
    assert!(bad.is_empty(), "the engine must not depend on a front end:\n{}", bad.join("\n"));
}

#[test]
fn cli_commands_name_no_tui() {
    // Only `cli/mod.rs`, which starts the TUI and prints its config, may name it; every command
    // reads what it needs from the engine (its settings through `config.rs`).
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("cli"), &mut files);
    assert!(files.len() > 3, "the source was not read: {files:?}");
    let bad: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "mod.rs"))
        .filter(|f| named_tops(&module_path(&src, f), &std::fs::read_to_string(f).unwrap()).contains("tui"))
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(bad.is_empty(), "CLI commands that name the TUI: {bad:?}");
}

#[test]
fn each_public_type_name_means_one_thing() {
    // A public struct, enum, type or trait name is declared once in the crate, so a name read
    // anywhere means one thing. `Config` is the one exception: `tui::config::Config` is an alias
    // of `config::Config<UiConfig>`, the same concept.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let Some(rest) = line.trim_start().strip_prefix("pub ") else { continue };
            let Some(rest) = ["struct ", "enum ", "type ", "trait "].iter().find_map(|k| rest.strip_prefix(k)) else {
                continue;
            };
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            seen.entry(name).or_default().push(f.strip_prefix(&src).unwrap().display().to_string());
        }
    }
    assert!(seen.len() > 100 && seen.contains_key("Dataset"), "the source was not read");
    let twice: Vec<String> = seen
        .iter()
        .filter(|(name, at)| at.len() > 1 && name.as_str() != "Config")
        .map(|(name, at)| format!("{name}: {}", at.join(", ")))
        .collect();
    assert!(twice.is_empty(), "public types that share a name (rename one):\n{}", twice.join("\n"));
}

#[test]
fn top_level_modules_import_no_circle() {
    let g = graph();
    assert!(g.len() > 8 && g["tui"].contains("dataset"), "the source was not read: {g:?}");
    // `train` starts external trainers on an export, so `export` must never name `train` (the run
    // folder's one owner is `train::run_folder`).
    assert!(g["train"].contains("export"), "the source was not read: {g:?}");
    // Every circle shows as a pair of modules that reach each other.
    let reach = |from: &str| reach(&g, from);
    let mut circles = Vec::new();
    for a in g.keys() {
        for b in reach(a) {
            if *a < b && reach(&b).contains(a) {
                circles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "top-level modules that import each other (directly or round a circle):\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_sees_imports_and_super_paths() {
    let m = |s: &str| s.split('/').map(str::to_string).collect::<Vec<_>>();
    let names = named_tops(
        &m("judge/engine"),
        "use crate::tui::App; // crate::cli\nuse super::super::cli::x;\nuse super::cache;",
    );
    assert_eq!(names, ["cli", "tui"].map(str::to_string).into_iter().collect());
    assert!(named_tops(&m("tui/app"), "use super::keymap;").is_empty());
}

/// The code of a file without its trailing `#[cfg(test)] mod tests` (tests import what they test).
fn production_code(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// The modules of the crate (as paths under `src/`, `tui::app` = `["tui", "app"]`) that the code of
/// `module` names: `crate::`, `super::` and `self::` paths, paths through its child modules, and
/// `{..}` groups of them. A path ending in an item names the module that holds the item.
fn named_modules(module: &[String], text: &str, modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut out = BTreeSet::new();
    for line in production_code(text).lines() {
        let code = line.split("//").next().unwrap_or("");
        let starts = code.char_indices().filter(|&(i, c)| {
            (c.is_alphabetic() || c == '_')
                && !code[..i].chars().last().is_some_and(|p| p.is_alphanumeric() || p == '_' || p == ':')
        });
        for (i, _) in starts {
            let first = ident(&code[i..]);
            let mut rest = &code[i + first.len()..];
            let Some(r) = rest.strip_prefix("::") else { continue };
            let mut base: Vec<String> = match first.as_str() {
                "crate" => Vec::new(),
                "self" => module.to_vec(),
                "super" => module[..module.len().saturating_sub(1)].to_vec(),
                child if modules.contains(&[module, &[child.to_string()]].concat()) => {
                    [module, &[child.to_string()]].concat()
                }
                _ => continue,
            };
            rest = r;
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            loop {
                let next = ident(rest);
                let deeper = [base.as_slice(), std::slice::from_ref(&next)].concat();
                if next.is_empty() || !modules.contains(&deeper) {
                    break;
                }
                base = deeper;
                rest = &rest[next.len()..];
                match rest.strip_prefix("::") {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                for part in group.split(',') {
                    let deeper = [base.as_slice(), &[ident(part.trim())]].concat();
                    out.insert(if modules.contains(&deeper) { deeper } else { base.clone() });
                }
            } else {
                out.insert(base);
            }
        }
    }
    out.remove(module);
    out
}

/// The TUI's modules and the TUI modules each names.
fn tui_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("tui"), &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut g = BTreeMap::new();
    for f in &files {
        let module = module_path(&src, f);
        let text = std::fs::read_to_string(f).unwrap();
        let names =
            named_modules(&module, &text, &modules).into_iter().filter(|m| m.first().is_some_and(|t| t == "tui"));
        g.insert(module.join("::"), names.map(|m| m.join("::")).collect());
    }
    g
}

/// Every module `from` reaches in `g`, directly or through others.
fn reach(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(m) = stack.pop() {
        for n in g.get(&m).into_iter().flatten() {
            if seen.insert(n.clone()) {
                stack.push(n.clone());
            }
        }
    }
    seen
}

/// Every set of two or more modules that all reach each other.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<BTreeSet<String>> {
    let reach = |from: &str| reach(g, from);
    let reaches: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|m| (m, reach(m))).collect();
    g.keys()
        .map(|m| {
            let mut c: BTreeSet<String> =
                reaches[m].iter().filter(|n| reaches.get(n).is_some_and(|r| r.contains(m))).cloned().collect();
            c.insert(m.clone());
            c
        })
        .filter(|c| c.len() > 1)
        .collect()
}

#[test]
fn tui_modules_import_each_other_round_no_circle() {
    // Each feature's state lives in a file that names no `App` (app.rs, `*_state.rs`,
    // `training/state.rs`), so `App` holding it makes no circle, and the edits both `update` and
    // `input` run live in `edits`, which names neither. (Before the states moved out, 19 tui
    // modules were one circle.)
    let g = tui_graph();
    assert!(g.len() > 30 && g["tui::score"].contains("tui::app"), "the source was not read: {g:?}");
    let found = circles(&g);
    assert!(found.is_empty(), "tui modules that import each other (directly or round a circle): {found:?}");
}

#[test]
fn the_module_reader_follows_groups_children_and_super_chains() {
    let m = |s: &str| s.split("::").map(str::to_string).collect::<Vec<_>>();
    let modules: BTreeSet<Vec<String>> =
        ["tui", "tui::app", "tui::jobs", "tui::training", "tui::training::state", "tui::training::view"].map(m).into();
    let text = "use super::{Ask, state::X};\nuse crate::tui::app::App; // super::jobs\nlet y = super::super::jobs::f();\n\
                #[cfg(test)]\nmod tests {\n    use super::super::jobs::Z;\n}\n";
    let names = named_modules(&m("tui::training::view"), text, &modules);
    let want: BTreeSet<Vec<String>> = ["tui::training", "tui::training::state", "tui::app", "tui::jobs"].map(m).into();
    assert_eq!(names, want);
    let g: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec!["a"])]
            .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
            .into();
    assert_eq!(circles(&g), [["a", "b", "c"].map(String::from).into()].into());
}
