//! Tidy checks of the workspace's shape, run as tests: the layering of ARCHITECTURE.md and
//! one pinned version per dependency.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::process::Command;

    /// Normal (non-dev) dependencies of each workspace crate, from `cargo metadata`.
    fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let output = Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
        let mut out = BTreeMap::new();
        for package in metadata["packages"].as_array().expect("packages") {
            let name = package["name"].as_str().expect("name").to_string();
            let deps = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("dependency name").to_string())
                .collect();
            out.insert(name, deps);
        }
        out
    }

    #[test]
    fn crates_depend_on_each_other_as_architecture_md_says() {
        let deps = dependencies();
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
    }

    #[test]
    fn tt_schema_is_pure() {
        let deps = dependencies();
        for forbidden in ["sqlx", "tokio", "futures", "dotenvy", "tempfile"] {
            assert!(
                !deps["tt-schema"].contains(forbidden),
                "tt-schema must not depend on {forbidden}"
            );
        }
    }

    #[test]
    fn every_dependency_version_is_pinned_once_in_the_workspace() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifests = std::fs::read_dir(root.join("crates"))
            .expect("crates/")
            .map(|entry| entry.expect("entry").path().join("Cargo.toml"))
            .chain([root.join("xtask/Cargo.toml")]);
        for manifest in manifests {
            let text = std::fs::read_to_string(&manifest).expect("manifest");
            let value: toml::Table = text.parse().expect("manifest parses");
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
                    assert!(
                        inherited,
                        "{}: [{section}] {name} must be `{name}.workspace = true`",
                        manifest.display()
                    );
                }
            }
        }
    }
}
