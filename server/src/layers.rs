//! The layering check: every `crate::` path in the server's code names a module of its own
//! layer or of a lower one, as the table in ARCHITECTURE.md ("Layers") states. The table is
//! read from that file, so the document and the check cannot disagree.

use std::collections::BTreeMap;
use std::path::Path;

const ARCHITECTURE: &str = include_str!("../../ARCHITECTURE.md");

/// The layers, lowest first: each a list of module paths (`auth::tokens`, `engine`).
fn layers() -> Vec<(String, Vec<String>)> {
    let table = ARCHITECTURE
        .split("<!-- layers -->")
        .nth(1)
        .expect("ARCHITECTURE.md has a `<!-- layers -->` table");
    let mut layers: Vec<(String, Vec<String>)> = table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let [name, modules, ..] = cells.as_slice() else {
                return None;
            };
            let name = name.trim();
            if name.is_empty() || name == "layer" || name.starts_with('-') {
                return None;
            }
            let modules = modules
                .split(',')
                .map(|m| m.trim().trim_matches('`').to_string())
                .filter(|m| !m.is_empty())
                .collect();
            Some((name.to_string(), modules))
        })
        .collect();
    // The table reads top-down, as layers are usually drawn.
    layers.reverse();
    layers
}

/// The module path of a source file: `services/webhooks/delivery.rs` -> `services::webhooks::delivery`.
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Every `crate::a::b` (and `$crate::`) path in the code of a file, comments left out.
fn crate_paths(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let path: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(path.trim_end_matches(':').to_string());
            rest = after;
        }
    }
    paths
}

/// The index of the layer a module path belongs to (longest listed prefix wins).
fn layer_of(layers: &[(String, Vec<String>)], path: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (index, (_, modules)) in layers.iter().enumerate() {
        for module in modules {
            let matches = path == module || path.starts_with(&format!("{module}::"));
            if matches && best.is_none_or(|(len, _)| module.len() > len) {
                best = Some((module.len(), index));
            }
        }
    }
    best.map(|(_, index)| index)
}

fn sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_module_imports_a_higher_layer() {
    let layers = layers();
    assert!(
        layers.len() >= 5,
        "the layer table was not read: {layers:?}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    // Macros exported at the crate root (`crate::with_conn!`) belong to the module that defines them.
    let mut macros = BTreeMap::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let module = module_of(file.strip_prefix(&root).unwrap());
        for chunk in source.split("#[macro_export]").skip(1) {
            if let Some(name) = chunk
                .trim_start()
                .strip_prefix("macro_rules! ")
                .and_then(|rest| rest.split_whitespace().next())
            {
                macros.insert(name.to_string(), module.clone());
            }
        }
    }
    let mut unplaced = Vec::new();
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap();
        let module = module_of(relative);
        // The crate root and the binary wire every layer together.
        if module == "lib" || module == "main" || module == "layers" {
            continue;
        }
        let Some(own) = layer_of(&layers, &module) else {
            unplaced.push(module);
            continue;
        };
        let source = std::fs::read_to_string(file).unwrap();
        for path in crate_paths(&source) {
            let target = match macros.get(&path) {
                Some(defined_in) => defined_in.clone(),
                None => path.clone(),
            };
            match layer_of(&layers, &target) {
                Some(theirs) if theirs > own => upward.push(format!(
                    "{module} ({}) uses crate::{path} ({})",
                    layers[own].0, layers[theirs].0
                )),
                Some(_) => {}
                None => unplaced.push(format!("crate::{path} (used by {module})")),
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules in no layer of ARCHITECTURE.md: {unplaced:#?}"
    );
    assert!(upward.is_empty(), "imports of a higher layer: {upward:#?}");
}

#[test]
fn the_check_sees_an_upward_import() {
    let layers = layers();
    let store = layer_of(&layers, "store::chat").unwrap();
    let services = layer_of(&layers, "services::chat").unwrap();
    assert!(store < services);
    assert_eq!(
        crate_paths("use crate::services::Call; // crate::http::serve\n"),
        vec!["services::Call".to_string()]
    );
}
