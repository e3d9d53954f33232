//! Tidy checks of the workspace's shape (`cargo xtask tidy`, also run by `ci` and as tests):
//! the crate layering of ARCHITECTURE.md, one backend seam in tt-migrate, no import cycle
//! between tt-migrate's modules, no new cast to text in its SQL, and one pinned version per
//! dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace's crates from the bottom up: a crate may depend only on crates of a lower
/// layer.
const LAYERS: &[(&str, u32)] = &[
    ("tt-schema", 0),
    ("tt-migrate", 1),
    // Test support: a fresh database per backend, built on tt-schema only.
    ("tt-testdb", 1),
    ("tt-verify", 2),
    ("tt-cli", 3),
    ("xtask", 3),
];

/// tt-migrate's module groups from the bottom up: a module may import only from groups of its
/// own or a lower layer (the crate root, which re-exports, excepted). Each group's leaf errors
/// (`<group>::error`) are in the lowest layer, so the crate's `Error` can wrap them all, and the
/// cycle check keeps them from importing it back.
const GROUP_LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("files", 0),
    ("backend", 0),
    ("engine", 1),
    ("destructive", 2),
    ("adoption", 2),
];

/// Lines outside `backend/` that name a backend in a match or comparison, and why they may.
const BACKEND_MATCH_ALLOWED: &[(&str, &str, &str)] = &[];

/// Files of tt-migrate whose SQL casts values to text (`::text`, `AS TEXT)`, `AS CHAR)`,
/// `AS {text})`), how many casts each holds, and why. tt reads its own queries' values by
/// their type; a new cast to text needs a reason here (and a count that falls is lowered).
const TEXT_CASTS_ALLOWED: &[(&str, usize, &str)] = &[
    (
        "adoption/baseline.rs",
        11,
        "other tools' tables declare their columns each their own way",
    ),
    (
        "backend/lease.rs",
        2,
        "the lock holder's ages, only printed in a message",
    ),
    (
        "backend/mysql.rs",
        21,
        "information_schema names (the trigger lookup's too), binary strings on some MySQL versions",
    ),
    (
        "backend/postgres.rs",
        12,
        "regclass and regprocedure names, an inet and a timestamp for a message, \
         the tracking table's column names, a bound list's element type, the trigger \
         lookup's names (read with the text reader, as the scheduler's other catalog text)",
    ),
    ("destructive/protect.rs", 1, "a timestamp, only printed"),
    (
        "engine/tracking.rs",
        2,
        "the tracking table's version and timestamps, as the database prints them",
    ),
];

/// Runs every check and fails naming each problem.
pub(crate) fn run(root: &Path) -> Result<()> {
    let mut problems = layering_problems(&dependencies(root)?);
    problems.extend(backend_match_problems(&root.join("crates/tt-migrate/src"))?);
    problems.extend(cycle_problems(&root.join("crates/tt-migrate/src"))?);
    problems.extend(group_problems(&root.join("crates/tt-migrate/src"))?);
    problems.extend(text_cast_problems(&root.join("crates/tt-migrate/src"))?);
    problems.extend(pinning_problems(root)?);
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

/// Normal (non-dev) dependencies of each workspace crate, from `cargo metadata`.
fn dependencies(root: &Path) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .context("could not run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")?;
    let mut out = BTreeMap::new();
    let packages = metadata["packages"].as_array().context("no packages")?;
    for package in packages {
        let name = package["name"].as_str().context("a package without name")?;
        let deps = package["dependencies"]
            .as_array()
            .context("a package without dependencies")?
            .iter()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(str::to_string))
            .collect();
        out.insert(name.to_string(), deps);
    }
    Ok(out)
}

/// Each dependency of a workspace crate on one of the same or a higher layer.
fn layering_problems(deps: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let layer = |name: &str| LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l);
    let mut problems = Vec::new();
    for (name, wanted) in deps {
        let Some(own) = layer(name) else {
            problems.push(format!("crate {name} has no layer in xtask/src/tidy.rs"));
            continue;
        };
        for dep in wanted {
            match layer(dep) {
                Some(theirs) if theirs >= own => problems.push(format!(
                    "{name} depends on {dep}, which is not below it (see docs/ARCHITECTURE.md)"
                )),
                _ => {}
            }
        }
    }
    problems
}

/// Lines of tt-migrate outside `backend/` (and the statement lexer, `files/split/`) that
/// match on the backend or compare with one, which is how code picks SQL per backend.
fn backend_match_problems(src: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut allowed_seen = BTreeSet::new();
    for path in rust_files(src)? {
        let relative = relative(src, &path);
        if relative.starts_with("backend/")
            || relative == "backend.rs"
            || relative.starts_with("files/split")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for (number, line) in code_lines(&text) {
            if !matches_on_backend(line) {
                continue;
            }
            let allowed = BACKEND_MATCH_ALLOWED
                .iter()
                .position(|(file, allowed, _)| *file == relative && line.trim() == *allowed);
            match allowed {
                Some(index) => {
                    allowed_seen.insert(index);
                }
                None => problems.push(format!(
                    "crates/tt-migrate/src/{relative}:{number}: matches on the backend outside \
                     backend/ (ask the Dialect instead): {}",
                    line.trim()
                )),
            }
        }
    }
    for (index, (file, line, _)) in BACKEND_MATCH_ALLOWED.iter().enumerate() {
        if !allowed_seen.contains(&index) {
            problems.push(format!(
                "stale entry in BACKEND_MATCH_ALLOWED (xtask/src/tidy.rs): {file}: {line}"
            ));
        }
    }
    Ok(problems)
}

/// Files of tt-migrate with more casts to text than [`TEXT_CASTS_ALLOWED`] allows them, or
/// fewer (the entry is then stale).
fn text_cast_problems(src: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut counted = BTreeMap::new();
    for path in rust_files(src)? {
        let text = std::fs::read_to_string(&path)?;
        let casts: usize = code_lines(&text).map(|(_, line)| text_casts(line)).sum();
        if casts > 0 {
            counted.insert(relative(src, &path), casts);
        }
    }
    for (file, _, _) in TEXT_CASTS_ALLOWED {
        counted.entry((*file).to_string()).or_insert(0);
    }
    for (file, casts) in counted {
        let allowed = TEXT_CASTS_ALLOWED
            .iter()
            .find(|(allowed, _, _)| *allowed == file)
            .map_or(0, |(_, count, _)| *count);
        if casts > allowed {
            problems.push(format!(
                "crates/tt-migrate/src/{file}: {casts} cast(s) to text, {allowed} allowed: read \
                 the value by its type, or say why in TEXT_CASTS_ALLOWED (xtask/src/tidy.rs)"
            ));
        } else if casts < allowed {
            problems.push(format!(
                "stale entry in TEXT_CASTS_ALLOWED (xtask/src/tidy.rs): {file} has {casts} \
                 cast(s) to text, not {allowed}"
            ));
        }
    }
    Ok(problems)
}

/// How many casts to text a line of SQL holds.
fn text_casts(line: &str) -> usize {
    let postgres = line
        .match_indices("::text")
        .filter(|(at, cast)| {
            let next = line[at + cast.len()..].chars().next();
            !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .count();
    let sql = ["AS TEXT)", "AS CHAR)", "AS {text})"]
        .iter()
        .map(|cast| line.matches(cast).count())
        .sum::<usize>();
    postgres + sql
}

/// Whether a line matches on a backend (`Backend::Mysql =>`, `Backend::Postgres |`) or
/// compares with one (`== Backend::Sqlite`).
fn matches_on_backend(line: &str) -> bool {
    ["Postgres", "Mysql", "Sqlite"].iter().any(|name| {
        let variant = format!("Backend::{name}");
        line.match_indices(&variant).any(|(at, _)| {
            // `tt_schema::Backend::Mysql` is the same variant.
            let mut before = &line[..at];
            while let Some(rest) = before.strip_suffix("::") {
                before = rest.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_');
            }
            let before = before.trim_end();
            let after = line[at + variant.len()..].trim_start();
            before.ends_with("==")
                || before.ends_with("!=")
                || before.ends_with('|')
                || after.starts_with("=>")
                || after.starts_with("==")
                || after.starts_with("!=")
                || (after.starts_with('|') && !after.starts_with("||"))
                || (after.starts_with(')') && before.ends_with("matches!(backend,"))
        })
    })
}

/// Import cycles between tt-migrate's modules. An edge goes from a module to each module it
/// names (`crate::…`, `super::…`), except to its own submodules, which a parent declares.
fn cycle_problems(src: &Path) -> Result<Vec<String>> {
    let mut modules = BTreeMap::new();
    for path in rust_files(src)? {
        let name = module_name(&relative(src, &path));
        modules.insert(name, std::fs::read_to_string(&path)?);
    }
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &modules {
        let targets = edges.entry(module.clone()).or_default();
        for path in referenced_paths(module, text) {
            let Some(target) = longest_module(&known, &path) else {
                continue;
            };
            let own_child = target.starts_with(&format!("{module}::")) || module.is_empty();
            if target != *module && !own_child {
                targets.insert(target);
            }
        }
    }
    Ok(cycles(&edges)
        .into_iter()
        .map(|cycle| {
            format!(
                "tt-migrate modules import each other in a cycle: {}",
                cycle.join(" → ")
            )
        })
        .collect())
}

/// Imports of tt-migrate's modules from a group above their own (see [`GROUP_LAYERS`]).
fn group_problems(src: &Path) -> Result<Vec<String>> {
    let mut problems = BTreeSet::new();
    for path in rust_files(src)? {
        let relative = relative(src, &path);
        let module = module_name(&relative);
        if module.is_empty() {
            continue;
        }
        let Some(own) = group_layer(&module) else {
            problems.insert(format!(
                "crates/tt-migrate/src/{relative}: its group has no layer in GROUP_LAYERS \
                 (xtask/src/tidy.rs)"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&path)?;
        for target in referenced_paths(&module, &text) {
            if let Some(theirs) = group_layer(&target).filter(|theirs| *theirs > own) {
                let group = target.split("::").next().unwrap_or_default();
                problems.insert(format!(
                    "crates/tt-migrate/src/{relative} imports from {group} (layer {theirs}), \
                     above its own group (layer {own})"
                ));
            }
        }
    }
    Ok(problems.into_iter().collect())
}

/// The layer of the group a module path belongs to (see [`GROUP_LAYERS`]); a group's leaf
/// errors (`destructive::error::…`) are in layer 0.
fn group_layer(path: &str) -> Option<u32> {
    let mut parts = path.split("::");
    let group = parts.next().unwrap_or_default();
    let layer = GROUP_LAYERS
        .iter()
        .find(|(name, _)| *name == group)
        .map(|(_, layer)| *layer)?;
    Some(if parts.next() == Some("error") {
        0
    } else {
        layer
    })
}

/// `engine/run.rs` → `engine::run`; `lib.rs` → the crate root, ``.
fn module_name(relative: &str) -> String {
    let stem = relative.trim_end_matches(".rs");
    if stem == "lib" {
        return String::new();
    }
    stem.trim_end_matches("/mod").replace('/', "::")
}

/// Every `crate::…` and `super::…` path `text` names outside comments and tests, with
/// `use` groups (`crate::a::{b, c::d}`) expanded, relative to the crate root.
fn referenced_paths(module: &str, text: &str) -> Vec<String> {
    let code: String = code_lines(text)
        .map(|(_, line)| line)
        .collect::<Vec<_>>()
        .join("\n");
    let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
    let mut out = Vec::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent.to_string())] {
        for (at, _) in code.match_indices(prefix) {
            let preceded = code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            if preceded {
                continue;
            }
            for path in expand(&code[at + prefix.len()..]) {
                let full = if base.is_empty() {
                    path
                } else {
                    format!("{base}::{path}")
                };
                out.push(full);
            }
        }
    }
    out
}

/// The paths at the start of `rest` (after `crate::`): `a::b` or a group `a::{b, c::{d}}`.
fn expand(rest: &str) -> Vec<String> {
    let ident_end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    let head = rest[..ident_end].trim_end_matches(':');
    if !rest[ident_end..].starts_with('{') || !rest[..ident_end].ends_with("::") {
        return vec![head.to_string()];
    }
    // A group: split its top level at commas and expand each part.
    let body = &rest[ident_end + 1..];
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                parts.push(&body[start..i]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty() && *part != "self")
        .flat_map(|part| {
            expand(part)
                .into_iter()
                .map(move |p| format!("{head}::{p}"))
        })
        .chain([head.to_string()])
        .collect()
}

/// The longest module of `known` that `path` starts with.
fn longest_module(known: &BTreeSet<String>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|candidate| known.contains(candidate))
}

/// The cycles of a graph: its strongly connected components of more than one node (Tarjan),
/// each as a path from its first node back to it.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        let edges = state.edges;
        for next in edges.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                component.push(top);
                if top == node {
                    break;
                }
            }
            state.components.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in edges.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state
        .components
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let mut names: Vec<String> = component.into_iter().map(str::to_string).collect();
            names.sort();
            let first = names[0].clone();
            names.push(first);
            names
        })
        .collect()
}

/// Each workspace manifest's dependency that does not inherit its version from the workspace.
fn pinning_problems(root: &Path) -> Result<Vec<String>> {
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))?
        .map(|entry| entry.map(|e| e.path().join("Cargo.toml")))
        .collect::<Result<_, _>>()?;
    manifests.push(root.join("xtask/Cargo.toml"));
    let mut problems = Vec::new();
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("could not read {}", manifest.display()))?;
        let value: toml::Table = text
            .parse()
            .with_context(|| format!("{} does not parse", manifest.display()))?;
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(table) = value.get(section).and_then(|s| s.as_table()) else {
                continue;
            };
            for (name, spec) in table {
                let inherited = spec
                    .as_table()
                    .and_then(|t| t.get("workspace"))
                    .and_then(|w| w.as_bool())
                    == Some(true);
                if !inherited {
                    problems.push(format!(
                        "{}: [{section}] {name} must be `{name}.workspace = true`",
                        manifest.display()
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// The `.rs` files under `dir`, sorted.
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn relative(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The numbered lines of a file that are code: not comments, and before its unit tests
/// (`#[cfg(test)]`, by convention at the end of a file).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(i, line)| (i + 1, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn crates_depend_on_each_other_as_architecture_md_says() {
        let deps = dependencies(&root()).unwrap();
        let ours = |name: &str| -> BTreeSet<&str> {
            deps[name]
                .iter()
                .map(String::as_str)
                .filter(|d| d.starts_with("tt-"))
                .collect()
        };
        let expect = |name: &str, allowed: &[&str]| {
            let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
            assert_eq!(
                ours(name),
                allowed,
                "{name}: edit docs/ARCHITECTURE.md with the edge"
            );
        };
        expect("tt-schema", &[]);
        expect("tt-migrate", &["tt-schema"]);
        expect("tt-verify", &["tt-schema", "tt-migrate"]);
        expect("tt-cli", &["tt-schema", "tt-migrate", "tt-verify"]);
        expect("tt-testdb", &["tt-schema"]);
        assert!(
            !deps["xtask"].contains("tt-cli"),
            "xtask never links tt-cli: the torture harness runs the built tt as a program"
        );
        assert_eq!(layering_problems(&deps), Vec::<String>::new());
    }

    #[test]
    fn a_crate_depending_on_one_above_it_is_a_problem() {
        let mut deps = BTreeMap::new();
        deps.insert("tt-schema".to_string(), BTreeSet::new());
        deps.insert(
            "tt-migrate".to_string(),
            ["tt-schema".to_string(), "tt-verify".to_string()].into(),
        );
        deps.insert("tt-verify".to_string(), ["tt-migrate".to_string()].into());
        assert_eq!(
            layering_problems(&deps),
            ["tt-migrate depends on tt-verify, which is not below it (see docs/ARCHITECTURE.md)"]
        );
    }

    #[test]
    fn tt_schema_is_pure() {
        let deps = dependencies(&root()).unwrap();
        for forbidden in [
            "sqlx",
            "tokio",
            "futures",
            "futures-util",
            "dotenvy",
            "tempfile",
        ] {
            assert!(
                !deps["tt-schema"].contains(forbidden),
                "tt-schema must not depend on {forbidden}"
            );
        }
    }

    #[test]
    fn every_dependency_version_is_pinned_once_in_the_workspace() {
        assert_eq!(pinning_problems(&root()).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn only_the_backend_module_matches_on_the_backend() {
        let src = root().join("crates/tt-migrate/src");
        assert_eq!(backend_match_problems(&src).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn tt_migrate_casts_to_text_only_where_the_allow_list_says_why() {
        let src = root().join("crates/tt-migrate/src");
        assert_eq!(text_cast_problems(&src).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn casts_to_text_are_counted() {
        let check = |line: &str, expected: usize| assert_eq!(text_casts(line), expected, "{line}");
        check("SELECT c.relname::text, a.attnotnull::text", 2);
        check("AND c.relname = ANY(ARRAY[?]::text[])", 1);
        check("Version::text_ordered(v)", 0);
        check(
            "SELECT CAST(x AS TEXT), CAST(y AS CHAR), CAST(z AS {text})",
            3,
        );
        check("SELECT CAST(x AS SIGNED)", 0);
    }

    #[test]
    fn tt_migrate_modules_import_without_cycles() {
        let src = root().join("crates/tt-migrate/src");
        assert_eq!(cycle_problems(&src).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn tt_migrate_groups_import_only_from_below() {
        let src = root().join("crates/tt-migrate/src");
        assert_eq!(group_problems(&src).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn leaf_errors_are_below_every_group() {
        let check = |path: &str, expected: Option<u32>| {
            assert_eq!(group_layer(path), expected, "{path}");
        };
        check("error", Some(0));
        check("destructive::drop::plan_drop", Some(2));
        check("destructive::error::DropRefusal", Some(0));
        check("engine::error", Some(0));
        check("engine::run", Some(1));
        check("elsewhere::error", None);
    }

    #[test]
    fn matches_and_comparisons_on_a_backend_are_found() {
        let check = |line: &str, expected: bool| {
            assert_eq!(matches_on_backend(line), expected, "{line}");
        };
        check("        Backend::Postgres => \"BEGIN\",", true);
        check(
            "        Backend::Postgres | Backend::Mysql => a == b,",
            true,
        );
        check("    if backend == Backend::Sqlite {", true);
        check(
            "    let transactional = db.backend() != tt_schema::Backend::Mysql;",
            true,
        );
        check("    if matches!(backend, Backend::Mysql) {", true);
        check("    let s = Splitter::new(sql, Backend::Postgres);", false);
        check("    for backend in Backend::ALL {", false);
        check("    let q = Backend::Mysql.quote_ident(name);", false);
    }

    #[test]
    fn paths_and_groups_are_expanded() {
        let check = |module: &str, text: &str, expected: &[&str]| {
            let mut paths = referenced_paths(module, text);
            paths.sort();
            assert_eq!(paths, expected);
        };
        check(
            "engine::run",
            "use crate::backend::{Dialect, database::{Arg, Database}};",
            &[
                "backend",
                "backend::Dialect",
                "backend::database",
                "backend::database::Arg",
                "backend::database::Database",
            ],
        );
        check(
            "backend::postgres",
            "use super::introspect;\n// crate::error::Error in a comment\nlet x = crate::error::Error::Io;",
            &["backend::introspect", "error::Error::Io"],
        );
        check("a", "#[cfg(test)]\nuse crate::b;", &[]);
    }

    #[test]
    fn cycles_are_found_and_children_are_not_edges() {
        let graph = |edges: &[(&str, &str)]| {
            let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (from, to) in edges {
                out.entry(from.to_string())
                    .or_default()
                    .insert(to.to_string());
                out.entry(to.to_string()).or_default();
            }
            out
        };
        assert_eq!(
            cycles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])),
            [["a", "b", "c", "a"]]
        );
        assert!(cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    }
}
