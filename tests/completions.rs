//! The committed shell completions in `completions/` must be what the binary generates.
//! Regenerate them with `scripts/update-completions` after changing the CLI.

use std::path::Path;

use assert_cmd::Command;

const FILES: [(&str, &str); 5] = [
    ("bash", "bpstudio-op.bash"),
    ("zsh", "_bpstudio-op"),
    ("fish", "bpstudio-op.fish"),
    ("powershell", "_bpstudio-op.ps1"),
    ("elvish", "bpstudio-op.elv"),
];

#[test]
fn committed_completions_match_the_binary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let mut stale = Vec::new();
    for (shell, file) in FILES {
        let out = Command::cargo_bin("bpstudio-op")
            .unwrap()
            .env_clear()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "completions {shell} failed: {out:?}");
        assert!(
            !out.stdout.is_empty(),
            "completions {shell} printed nothing"
        );
        let committed = std::fs::read(dir.join(file)).unwrap_or_default();
        if committed != out.stdout {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "completions/ is stale for {stale:?}: run scripts/update-completions and commit"
    );
}

#[test]
fn completion_scripts_name_the_subcommands() {
    let bash = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/bpstudio-op.bash"),
    )
    .unwrap();
    for word in [
        "get",
        "wait",
        "watch",
        "configure",
        "--exit-status",
        "--signature-version",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
}
