//! The layers hold (issue 16), read from the sources and the manifests, with no stack:
//!
//! - the domain crate `shared` depends on no AWS, Lambda or HTTP crate, and `api` on no AWS or Lambda
//!   crate (their manifests; `make check` also runs `cargo tree -p shared -e normal`);
//! - no file of the workspace's own crates imports, directly or through others, a file that imports it
//!   back (an import cycle), counting `crate::`, `super::` and `self::` paths between the files of a crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The repository; `LAYERS_ROOT` points the cycle finder at another checkout (to compare with an older one).
fn root() -> PathBuf {
    std::env::var_os("LAYERS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// The crates whose own code is held to no cycle.
const CRATES: &[&str] = &["shared", "api", "adapters", "edge", "tests", "bench"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `store/mod.rs` -> `["store"]`, `lib.rs` -> `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Source without comments and string literals' contents, so that a path named in prose is no import.
fn code_only(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// The module paths a file names: `crate::a::b`, `super::a`, `self::a` and grouped `use` trees' first
/// level (`crate::{a, b}`), resolved against the file's own module.
fn named_modules(code: &str, here: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for (start, prefix) in [("crate::", 0usize), ("super::", 1), ("self::", 2)]
        .into_iter()
        .flat_map(|(p, k)| code.match_indices(p).map(move |(i, _)| (i, (p, k))))
    {
        let (p, kind) = prefix;
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        // The file's own module for `self`, its parent for `super` (a `mod.rs` is its module).
        let mut base: Vec<String> = match kind {
            0 => Vec::new(),
            1 => {
                let mut b = here.to_vec();
                if !is_mod_file || !b.is_empty() {
                    b.pop();
                }
                b
            }
            _ => here.to_vec(),
        };
        let rest = &code[start + p.len()..];
        let mut segments = Vec::new();
        let mut chars = rest.char_indices().peekable();
        let mut seg = String::new();
        while let Some((_, c)) = chars.next() {
            if c.is_ascii_alphanumeric() || c == '_' {
                seg.push(c);
            } else if c == ':' && chars.peek().map(|x| x.1) == Some(':') {
                chars.next();
                segments.push(std::mem::take(&mut seg));
            } else if c == '{' && seg.is_empty() {
                // A group: each first-level name is a path of its own.
                let group: String = rest[rest.find('{').unwrap_or(0) + 1..]
                    .chars()
                    .take_while(|c| *c != '}')
                    .collect();
                for name in group.split(',') {
                    let first = name.trim().split("::").next().unwrap_or("").trim();
                    if !first.is_empty() {
                        let mut path = base.clone();
                        path.extend(segments.iter().cloned());
                        path.push(first.to_string());
                        found.push(path);
                    }
                }
                segments.clear();
                break;
            } else {
                break;
            }
        }
        if !seg.is_empty() {
            segments.push(seg);
        }
        if !segments.is_empty() {
            base.extend(segments);
            found.push(base);
        }
    }
    found
}

/// Each crate's import graph between its files: file -> files it names.
fn graph(krate: &str) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let src = root().join(krate).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let here = module_of(&src, file);
        let is_mod = matches!(
            file.file_name().and_then(|n| n.to_str()),
            Some("mod.rs" | "lib.rs" | "main.rs")
        );
        let code = code_only(&std::fs::read_to_string(file).unwrap_or_default());
        // A file's `#[cfg(test)]` module may use anything of its crate: it is not part of the layers.
        let code = code.split("#[cfg(test)]").next().unwrap_or("").to_string();
        let mut targets = BTreeSet::new();
        let mut named = named_modules(&code, &here, is_mod);
        // A module file names its own submodules without a prefix (`use pages::Listing;`).
        if is_mod {
            for module in modules.keys() {
                if module.len() == here.len() + 1 && module.starts_with(&here) {
                    let child = &module[here.len()];
                    let used = code.match_indices(&format!("{child}::")).any(|(i, _)| {
                        let before = code[..i].chars().next_back().unwrap_or(' ');
                        !(before.is_ascii_alphanumeric() || before == '_' || before == ':')
                    });
                    if used {
                        named.push(module.clone());
                    }
                }
            }
        }
        for mut path in named {
            // The longest prefix of the path that is a file of the crate.
            while !path.is_empty() && !modules.contains_key(&path) {
                path.pop();
            }
            if let Some(target) = modules.get(&path) {
                if target != file && !path.is_empty() {
                    targets.insert(target.clone());
                }
            }
        }
        edges.insert(file.clone(), targets);
    }
    edges
}

/// The strongly connected components of more than one file (Tarjan's algorithm).
fn cycles(g: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct State<'a> {
        g: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on: BTreeSet<&'a PathBuf>,
        next: usize,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let Some((w, _)) = s.g.get_key_value(w) else {
                continue;
            };
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_file_of_the_workspace_is_in_an_import_cycle() {
    let mut report = Vec::new();
    for krate in CRATES {
        let g = graph(krate);
        if g.is_empty() && std::env::var_os("LAYERS_ROOT").is_some() {
            continue; // an older checkout without this crate
        }
        assert!(!g.is_empty(), "{krate} has no sources");
        for component in cycles(&g) {
            let names: Vec<String> = component
                .iter()
                .map(|p| p.strip_prefix(root()).unwrap_or(p).display().to_string())
                .collect();
            report.push(format!("{krate}: {}", names.join(" <-> ")));
        }
    }
    assert!(report.is_empty(), "import cycles:\n{}", report.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut g = BTreeMap::new();
    let (a, b, c) = (PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c"));
    g.insert(a.clone(), BTreeSet::from([b.clone()]));
    g.insert(b.clone(), BTreeSet::from([c.clone()]));
    g.insert(c.clone(), BTreeSet::from([a.clone()]));
    assert_eq!(cycles(&g).len(), 1);
    g.insert(c.clone(), BTreeSet::new());
    assert!(cycles(&g).is_empty());
    let here = vec!["store".to_string(), "memory".to_string()];
    let named = named_modules(
        "use super::{Store, paging};\nuse crate::model::X;",
        &here,
        false,
    );
    assert!(named.contains(&vec!["store".to_string(), "Store".to_string()]));
    assert!(named.contains(&vec!["model".to_string(), "X".to_string()]));
}

/// The dependencies a manifest's `[dependencies]` names.
fn normal_dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join(krate).join("Cargo.toml")).unwrap();
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
        } else if in_deps && !line.is_empty() && !line.starts_with('#') {
            if let Some(name) = line.split(['=', '.']).next() {
                out.push(name.trim().to_string());
            }
        }
    }
    out
}

#[test]
fn the_domain_names_no_aws_lambda_or_http_crate_and_the_wire_no_aws_or_lambda() {
    let banned = |name: &str, http_too: bool| {
        name.starts_with("aws")
            || name.starts_with("lambda")
            || (http_too && (name == "http" || name.starts_with("hyper") || name == "reqwest"))
    };
    let shared = normal_dependencies("shared");
    assert!(shared.contains(&"chrono".to_string()), "{shared:?}");
    assert_eq!(
        shared.iter().filter(|d| banned(d, true)).count(),
        0,
        "{shared:?}"
    );
    let api = normal_dependencies("api");
    assert_eq!(
        api.iter().filter(|d| banned(d, false)).count(),
        0,
        "{api:?}"
    );
    assert!(normal_dependencies("adapters")
        .iter()
        .any(|d| d.starts_with("aws-sdk")));
}
