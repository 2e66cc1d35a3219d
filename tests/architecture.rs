//! The map in ARCHITECTURE.md, checked: data moves one way, so no top-level
//! module of `src/` names one that (directly or not) names it back, and the
//! layers the map draws hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module of `src/` (a file or a folder) and the top-level
/// modules it names (`crate::x`, `use crate::{x, ..}`), outside its tests.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let top = first.trim_end_matches(".rs").to_owned();
            if top == "main" || top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = without_tests(&text);
            let refs = graph.entry(top.clone()).or_default();
            // Comments out, lines joined: a `use crate::{..}` group rustfmt
            // wraps over several lines is one.
            let code: String = code
                .lines()
                .map(|l| l.split("//").next().unwrap())
                .collect::<Vec<_>>()
                .join(" ");
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                match rest.strip_prefix('{') {
                    Some(group) => refs.extend(group_heads(group)),
                    None => {
                        refs.insert(head(rest));
                    }
                }
            }
            refs.remove(&top);
        }
    }
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    for refs in graph.values_mut() {
        refs.retain(|r| known.contains(r));
    }
    graph
}

/// The first path segment of `path` (`sign` of `sign::X`).
fn head(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The first segment of each item of a `{..}` group that `group` opens
/// (`sign` and `report` of `sign::X, report::{a, b}}`): the commas at
/// its own depth, to its matching `}`.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut item_start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(head(&group[item_start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(head(&group[item_start..i]));
                item_start = i + 1;
            }
            _ => {}
        }
    }
    heads
}

/// A wrapped or nested group is read whole. Regression: only up to the
/// first `}` on the first line, so `use crate::{\n sign::X,\n}` named
/// nothing, and `crate::{a::{b, c}, sign}` lost `sign`.
#[test]
fn a_use_group_is_read_whole() {
    assert_eq!(group_heads("a::{b, c}, sign};"), ["a", "sign"]);
    assert_eq!(
        group_heads("  sign::X,  report::Y, };"),
        ["sign", "report", ""]
    );
}

/// `text` without its test-only items: each `#[cfg(test)]` (or
/// `#[cfg(all(test, ...))]`) item, to its `;` or its matching `}`.
/// Regression: everything after the first such attribute was dropped, so
/// a test helper halfway down a file hid the code below it.
fn without_tests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let at = ["#[cfg(test)]", "#[cfg(all(test"]
            .iter()
            .filter_map(|a| rest.find(a))
            .min();
        let Some(at) = at else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let attribute_end = item.find(']').unwrap() + 1;
        let body = &item[attribute_end..];
        let open = body.find('{');
        let semi = body.find(';');
        let end = match (open, semi) {
            (Some(o), Some(s)) if s < o => attribute_end + s + 1,
            (Some(o), _) => {
                let mut depth = 0usize;
                let mut close = body.len();
                for (i, c) in body[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                close = o + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                attribute_end + close
            }
            (None, Some(s)) => attribute_end + s + 1,
            (None, None) => item.len(),
        };
        rest = &item[end..];
    }
}

#[test]
fn test_items_are_left_out_and_the_rest_kept() {
    let text = "use crate::a;\n#[cfg(test)]\nfn helper() { crate::b::x(); }\nfn later() { crate::c::y(); }\n#[cfg(test)]\nuse crate::d;\n#[cfg(all(test, unix))]\nmod tests { fn t() { if x { crate::e::z(); } } }\nfn last() { crate::f::w(); }\n";
    let code = without_tests(text);
    for kept in ["crate::a", "crate::c", "crate::f"] {
        assert!(code.contains(kept), "{kept}: {code}");
    }
    for dropped in ["crate::b", "crate::d", "crate::e"] {
        assert!(!code.contains(dropped), "{dropped}: {code}");
    }
}

/// Every module reachable from `from`.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(m) = todo.pop() {
        for n in graph.get(&m).into_iter().flatten() {
            if seen.insert(n.clone()) {
                todo.push(n.clone());
            }
        }
    }
    seen
}

#[test]
fn no_module_names_one_that_names_it_back() {
    let graph = module_graph();
    assert!(
        graph.contains_key("sign") && graph.contains_key("verify"),
        "{graph:?}"
    );
    let cycles: Vec<String> = graph
        .iter()
        .filter(|(m, _)| reachable(&graph, m).contains(*m))
        .map(|(m, refs)| format!("{m} -> {refs:?}"))
        .collect();
    assert!(
        cycles.is_empty(),
        "modules on an import cycle (an import points back up the flow):\n{}",
        cycles.join("\n")
    );
}

/// The layers ARCHITECTURE.md draws: the leaves import nothing of ours; the
/// services never reach the stages; verify never reaches sign; neither
/// stage reaches the report or the settings layer that feeds it.
#[test]
fn layers_hold() {
    let graph = module_graph();
    let never = [
        ("vocab", &["*"][..]),
        ("text", &["*"]),
        // The leaves' words only (`text`'s rule for a character that
        // shows nothing holds for a file's name too).
        (
            "files",
            &[
                "atomic_file",
                "bundle_io",
                "digest",
                "error",
                "github",
                "inputs",
                "net",
                "oidc",
                "pipeline",
                "plan",
                "provenance",
                "report",
                "sign",
                "trust",
                "upload",
                "verify",
            ],
        ),
        ("net", &["*"]),
        (
            "digest",
            &["bundle_io", "plan", "sign", "verify", "report", "inputs"],
        ),
        (
            "trust",
            &["inputs", "sign", "verify", "report", "upload", "pipeline"],
        ),
        (
            "oidc",
            &["inputs", "sign", "verify", "report", "upload", "pipeline"],
        ),
        (
            "github",
            &["inputs", "sign", "verify", "report", "upload", "pipeline"],
        ),
        (
            "verify",
            &["sign", "report", "inputs", "upload", "pipeline"],
        ),
        (
            "provenance",
            &["sign", "verify", "report", "inputs", "upload", "pipeline"],
        ),
        ("sign", &["report", "upload", "pipeline", "inputs"]),
        // The stages after signing take their settings as plain values too.
        ("upload", &["inputs", "pipeline"]),
        ("pipeline", &["inputs"]),
        ("report", &["inputs", "pipeline", "upload", "error"]),
        // The file services under every stage.
        (
            "bundle_io",
            &[
                "plan", "digest", "trust", "oidc", "github", "sign", "verify", "report", "inputs",
                "upload", "pipeline",
            ],
        ),
        (
            "atomic_file",
            &[
                "bundle_io",
                "plan",
                "digest",
                "trust",
                "oidc",
                "github",
                "sign",
                "verify",
                "report",
                "inputs",
                "upload",
                "pipeline",
            ],
        ),
    ];
    // A name here that is no module could never be reached: the rule
    // would hold whatever the code did.
    for (module, forbidden) in never {
        for name in std::iter::once(&module).chain(forbidden.iter().filter(|f| **f != "*")) {
            assert!(graph.contains_key(*name), "no module `{name}` in src/");
        }
    }
    let mut broken = Vec::new();
    for (module, forbidden) in never {
        let reach = reachable(&graph, module);
        for f in forbidden {
            let hit: Vec<&String> = if *f == "*" {
                graph[module].iter().collect()
            } else {
                reach.iter().filter(|r| r == f).collect()
            };
            if !hit.is_empty() {
                broken.push(format!("{module} reaches {hit:?}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
