//! The committed man pages in `man/` must be what clap_mangen makes of the CLI definition:
//! `man/bpstudio-op.1` and one page per subcommand (`man/bpstudio-op-get.1`, ...).
//! Regenerate them with `scripts/update-manpage` after changing the CLI; that script runs this
//! test with `BPSTUDIO_OP_UPDATE_MANPAGE=1`, which writes the pages instead of comparing.
//!
//! The generator lives here, in a test, so that clap_mangen stays a dev-dependency and the
//! shipped binary does not carry it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bpstudio_op::cli::Cli;
use clap::CommandFactory;

const UPDATE_VAR: &str = "BPSTUDIO_OP_UPDATE_MANPAGE";

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// Every `*.1` file in `dir`, by file name.
fn pages_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// The pages clap_mangen renders from [`Cli`], by file name.
fn generated_pages() -> BTreeMap<String, Vec<u8>> {
    let out = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(Cli::command(), out.path()).unwrap();
    pages_in(out.path())
}

#[test]
fn committed_man_pages_match_the_cli_definition() {
    let generated = generated_pages();
    let dir = man_dir();
    if std::env::var_os(UPDATE_VAR).is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for name in pages_in(&dir)
            .keys()
            .filter(|n| !generated.contains_key(*n))
        {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).unwrap();
        }
        return;
    }
    let committed = pages_in(&dir);
    let mut stale: Vec<String> = generated
        .iter()
        .filter(|(name, text)| committed.get(*name) != Some(*text))
        .map(|(name, _)| name.clone())
        .collect();
    stale.extend(
        committed
            .keys()
            .filter(|n| !generated.contains_key(*n))
            .map(|n| format!("{n} (no such command any more)")),
    );
    assert!(
        stale.is_empty(),
        "man/ is stale for {stale:?}: run scripts/update-manpage and commit"
    );
}

#[test]
fn man_page_covers_the_commands_options_and_exit_codes() {
    let top = String::from_utf8(generated_pages().remove("bpstudio-op.1").unwrap()).unwrap();
    assert!(
        top.starts_with(".ie"),
        "not roff: {}",
        &top[..top.len().min(80)]
    );
    assert!(top.contains(".TH bpstudio-op 1"), "no title line");
    for word in [
        "get",
        "wait",
        "watch",
        "configure",
        "completions",
        "signature\\-version",
        "read\\-timeout",
        "BPSTUDIO_OP_ENDPOINT",
        "Exit codes",
    ] {
        assert!(top.contains(word), "bpstudio-op.1 lacks {word:?}");
    }
    let pages = generated_pages();
    for sub in ["get", "wait", "watch", "configure", "completions"] {
        assert!(
            pages.contains_key(&format!("bpstudio-op-{sub}.1")),
            "no page for {sub}: {:?}",
            pages.keys()
        );
    }
    let get = String::from_utf8(pages["bpstudio-op-get.1"].clone()).unwrap();
    assert!(
        get.contains("exit\\-status"),
        "get page lacks --exit-status"
    );
}
