/*!
`bpstudio-op configure`: create or update one profile of the config file.

Owns the dialogue (prompts on a terminal, flags and stdin in scripts) and the safe rewrite of
the file: only the named profile changes, the rest of the text (other profiles, comments) is
kept when it can be edited in place, and the file is replaced atomically (temporary file in
the same directory, fsync, rename) with mode 0600. The terminal is injected through
[`ConfigureIo`] so every path is testable; [`run_on_terminal`] binds it to the real one.

It must never echo a secret: not in prompts (shown masked like `****abcd`), not in the
confirmation, not in errors.
*/

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser as _;

use crate::config::{self, Config, Mode, OutputFormat, Profile, SignatureVersion, PROFILE_KEYS};
use crate::error::{Error, Result};

/// The modes `configure` can write.
const WRITABLE_MODES: [&str; 2] = ["AK", "StsToken"];

/// The region shown as the default in the prompt (SPEC §1).
const DEFAULT_REGION: &str = "cn-hangzhou";

/// `bpstudio-op configure`'s own flags.
///
/// `--profile`, `--region`, `-o/--output` and `--signature-version` are global options of the
/// CLI, so they are not declared here (clap refuses a flag declared twice): the CLI copies
/// them into the `#[arg(skip)]` fields below before calling [`run`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigureArgs {
    /// Credential mode of the profile [default: the profile's, else AK]
    #[arg(
        long,
        value_name = "MODE",
        ignore_case = true,
        value_parser = clap::builder::PossibleValuesParser::new(WRITABLE_MODES)
            .map(|s| Mode::parse(&s).unwrap_or(Mode::Ak))
    )]
    pub mode: Option<Mode>,

    /// AccessKey id to store (prompted for on a terminal when absent)
    #[arg(long, value_name = "ID")]
    pub access_key_id: Option<String>,

    /// Read the AccessKey secret from the first line of stdin (for StsToken, the security
    /// token from the second line) instead of prompting
    #[arg(long)]
    pub secret_stdin: bool,

    /// The profile to write (from the global `--profile`); `None`: the config file's default
    /// profile, else `default`.
    #[arg(skip)]
    pub profile: Option<String>,

    /// Region to store (from the global `--region`).
    #[arg(skip)]
    pub region: Option<String>,

    /// Output format to store (from the global `-o/--output`).
    #[arg(skip)]
    pub output: Option<OutputFormat>,

    /// Signature version to store (from the global `--signature-version`).
    #[arg(skip)]
    pub signature_version: Option<SignatureVersion>,
}

/// The terminal, injected.
pub struct ConfigureIo<'a> {
    /// Answers to prompts, or the secret in scripted use.
    pub stdin: &'a mut dyn BufRead,
    /// Prompts and the confirmation.
    pub stderr: &'a mut dyn Write,
    /// Whether a person is there to answer prompts (stdin and stderr are terminals).
    pub interactive: bool,
    /// Shows the prompt and reads a secret without echo.
    pub read_secret: &'a mut dyn FnMut(&str) -> io::Result<String>,
}

/// Runs `configure` on the process's terminal: prompts when stdin and stderr are terminals,
/// reads secrets without echo (`rpassword`).
pub fn run_on_terminal(args: &ConfigureArgs, config_path: &Path) -> Result<()> {
    let stdin = io::stdin();
    let interactive = stdin.is_terminal() && io::stderr().is_terminal();
    let mut stdin = stdin.lock();
    let mut stderr = io::stderr();
    let mut read_secret = |prompt: &str| rpassword::prompt_password(prompt);
    run(
        args,
        config_path,
        &mut ConfigureIo {
            stdin: &mut stdin,
            stderr: &mut stderr,
            interactive,
            read_secret: &mut read_secret,
        },
    )
}

/// Creates or updates one profile of the config file at `config_path`.
pub fn run(args: &ConfigureArgs, config_path: &Path, io: &mut ConfigureIo) -> Result<()> {
    let existing_text = read_existing(config_path)?;
    let existing = match &existing_text {
        Some(text) => config::parse(text).map_err(|e| {
            Error::config(format!(
                "malformed config file {}: {e}",
                config_path.display()
            ))
            .with_hint("fix that line first; configure does not overwrite a file it cannot read")
        })?,
        None => Config::default(),
    };
    let name = match &args.profile {
        Some(n) => n.clone(),
        None => existing.default_profile_name().to_string(),
    };
    check_profile_name(&name)?;
    let current = existing.profile(&name).cloned().unwrap_or_default();
    let profile = ask(args, &name, &current, io)?;

    let mut wanted = existing.clone();
    wanted.warnings.clear();
    // The first profile of a new file becomes the default one, as `aliyun configure` does.
    if wanted.profiles.is_empty() && wanted.profile.is_none() && name != config::DEFAULT_PROFILE {
        wanted.profile = Some(name.clone());
    }
    wanted.profiles.insert(name.clone(), profile);

    let (text, kept_layout) = render(existing_text.as_deref(), &existing, &wanted, &name)?;
    write_atomically(config_path, &text)?;
    let mode = wanted.profiles[&name].effective_mode();
    let note = if kept_layout {
        ""
    } else {
        " (the file was rewritten: its comments were not kept)"
    };
    writeln!(
        io.stderr,
        "Saved profile '{name}' ({mode}) to {}{note}",
        config_path.display()
    )
    .map_err(|e| Error::config(format!("cannot write to stderr: {e}")))?;
    Ok(())
}

fn read_existing(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::config(format!(
            "cannot read config file {}: {e}",
            path.display()
        ))),
    }
}

/// Profile names become TOML table keys: keep them bare (`[profiles.NAME]`).
fn check_profile_name(name: &str) -> Result<()> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid profile name `{name}`: use letters, digits, `-` and `_`"
        )))
    }
}

/// `****abcd`: enough to recognise a secret, not to use it.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() >= 8 {
        format!(
            "****{}",
            chars[chars.len() - 4..].iter().collect::<String>()
        )
    } else {
        "****".to_string()
    }
}

fn io_error(e: io::Error) -> Error {
    Error::config(format!("cannot read the answer: {e}"))
}

/// One line of stdin, trimmed; `None` at end of input.
fn read_line(stdin: &mut dyn BufRead) -> Result<Option<String>> {
    let mut line = String::new();
    let n = stdin.read_line(&mut line).map_err(io_error)?;
    Ok((n > 0).then(|| line.trim().to_string()))
}

/// Prompts on stderr and reads one line; an empty answer keeps `current`.
fn prompt(io: &mut ConfigureIo, label: &str, current: Option<&str>) -> Result<Option<String>> {
    match current {
        Some(c) => write!(io.stderr, "{label} [{c}]: "),
        None => write!(io.stderr, "{label}: "),
    }
    .and_then(|_| io.stderr.flush())
    .map_err(io_error)?;
    Ok(read_line(io.stdin)?.filter(|s| !s.is_empty()))
}

/// Prompts without echo; an empty answer keeps the current value.
fn prompt_secret(
    io: &mut ConfigureIo,
    label: &str,
    current: Option<&str>,
) -> Result<Option<String>> {
    let shown = match current {
        Some(c) => format!("{label} [{}]: ", mask(c)),
        None => format!("{label}: "),
    };
    let answer = (io.read_secret)(&shown).map_err(io_error)?;
    Ok(Some(answer.trim().to_string()).filter(|s| !s.is_empty()))
}

fn refuse_empty(what: &str, name: &str) -> Error {
    Error::usage(format!(
        "an empty {what} is refused; profile '{name}' was not changed"
    ))
}

fn check_value(what: &str, value: &str) -> Result<()> {
    if value.chars().any(char::is_whitespace) {
        return Err(Error::usage(format!(
            "the {what} contains whitespace; check what was pasted"
        )));
    }
    Ok(())
}

/// Gathers the new profile from flags, prompts and stdin.
fn ask(
    args: &ConfigureArgs,
    name: &str,
    current: &Profile,
    io: &mut ConfigureIo,
) -> Result<Profile> {
    let interactive = io.interactive && !args.secret_stdin;
    let mode = match args.mode {
        Some(m) => m,
        None if current.has_credentials() => current.effective_mode(),
        None => Mode::Ak,
    };
    if !matches!(mode, Mode::Ak | Mode::StsToken) {
        return Err(Error::usage(format!(
            "profile '{name}' uses mode {mode}, which configure cannot write"
        ))
        .with_hint(format!(
            "pass --mode {}",
            WRITABLE_MODES.join(" or --mode ")
        )));
    }
    if interactive {
        writeln!(
            io.stderr,
            "Configuring profile '{name}' (mode {mode}); press Enter to keep the value in brackets."
        )
        .map_err(io_error)?;
    }
    let mut p = current.clone();
    p.mode = Some(mode);

    // Access key id.
    let id = match &args.access_key_id {
        Some(id) => Some(id.trim().to_string()).filter(|s| !s.is_empty()),
        None if interactive => prompt(io, "Access Key Id", current.access_key_id.as_deref())?
            .or_else(|| current.access_key_id.clone()),
        None => current.access_key_id.clone(),
    };
    let Some(id) = id else {
        return Err(if interactive || args.access_key_id.is_some() {
            refuse_empty("access key id", name)
        } else {
            Error::usage(format!("profile '{name}' has no access key id"))
                .with_hint("pass --access-key-id ID and the secret on stdin (--secret-stdin)")
        });
    };
    check_value("access key id", &id)?;
    let id_changed = current.access_key_id.as_deref() != Some(id.as_str());

    // Secret: a new id needs a new secret.
    let keep_secret = current.access_key_secret.clone().filter(|_| !id_changed);
    let from_stdin = args.secret_stdin || (!interactive && keep_secret.is_none());
    let secret = if from_stdin {
        let line = read_line(io.stdin)?.filter(|s| !s.is_empty());
        match line {
            Some(s) => s,
            None => {
                return Err(refuse_empty("access key secret", name).with_hint(
                    "give the secret on the first line of stdin, e.g. \
                     `printf '%s\\n' \"$SECRET\" | bpstudio-op configure --access-key-id ID --secret-stdin`",
                ))
            }
        }
    } else if interactive {
        match prompt_secret(io, "Access Key Secret", keep_secret.as_deref())?.or(keep_secret) {
            Some(s) => s,
            None => return Err(refuse_empty("access key secret", name)),
        }
    } else {
        keep_secret.expect("from_stdin covers a missing secret")
    };
    check_value("access key secret", &secret)?;
    let secret_changed = current.access_key_secret.as_deref() != Some(secret.as_str());

    // Security token, for StsToken only; a new secret needs a new token.
    let token = if mode == Mode::StsToken {
        let keep = current.security_token.clone().filter(|_| !secret_changed);
        let token = if from_stdin {
            read_line(io.stdin)?.filter(|s| !s.is_empty()).or(keep)
        } else if interactive {
            prompt_secret(io, "Security Token", keep.as_deref())?.or(keep)
        } else {
            keep
        };
        let Some(token) = token else {
            return Err(refuse_empty("security token", name)
                .with_hint("mode StsToken: give the secret and the token on two lines of stdin"));
        };
        check_value("security token", &token)?;
        Some(token)
    } else {
        None
    };

    p.access_key_id = Some(id);
    p.access_key_secret = Some(secret);
    p.security_token = token;

    // Settings.
    if let Some(region) = &args.region {
        p.region_id = Some(region.trim().to_string()).filter(|s| !s.is_empty());
    } else if interactive {
        let shown = current.region_id.as_deref().unwrap_or(DEFAULT_REGION);
        if let Some(region) = prompt(io, "Default Region Id", Some(shown))? {
            check_value("region id", &region)?;
            p.region_id = Some(region);
        }
    }
    if let Some(output) = args.output {
        p.output = Some(output);
    } else if interactive {
        let shown = current.output.unwrap_or(OutputFormat::Table).as_str();
        if let Some(answer) = prompt(io, "Default Output Format (table|json)", Some(shown))? {
            p.output = Some(match answer.to_ascii_lowercase().as_str() {
                "table" => OutputFormat::Table,
                "json" => OutputFormat::Json,
                _ => {
                    return Err(Error::usage(format!(
                        "unknown output format `{answer}`: use table or json"
                    )))
                }
            });
        }
    }
    if let Some(v) = args.signature_version {
        p.signature_version = Some(v);
    }
    Ok(p)
}

/// The TOML text of each profile key, `None` for an absent one, in [`PROFILE_KEYS`] order.
fn profile_entries(p: &Profile) -> Vec<(&'static str, Option<String>)> {
    let s = |v: &str| toml::Value::String(v.to_string()).to_string();
    let dur = |d: std::time::Duration| s(&humantime::format_duration(d).to_string());
    let entries = vec![
        ("mode", p.mode.map(|m| s(m.as_str()))),
        ("access_key_id", p.access_key_id.as_deref().map(s)),
        ("access_key_secret", p.access_key_secret.as_deref().map(s)),
        ("security_token", p.security_token.as_deref().map(s)),
        ("region_id", p.region_id.as_deref().map(s)),
        ("endpoint", p.endpoint.as_deref().map(s)),
        ("output", p.output.map(|o| s(o.as_str()))),
        (
            "signature_version",
            p.signature_version.map(|v| s(v.as_str())),
        ),
        ("timeout", p.timeout.map(dur)),
        ("interval", p.interval.map(dur)),
    ];
    debug_assert!(entries
        .iter()
        .map(|(k, _)| *k)
        .eq(PROFILE_KEYS.iter().copied()));
    entries
}

/// The new file text, and whether the old text's layout and comments were kept.
///
/// Edits the profile's lines in place when the result parses back to exactly `wanted`;
/// otherwise (an unusual layout: inline tables, dotted keys, multi-line strings) writes the
/// whole config anew.
fn render(
    old: Option<&str>,
    existing: &Config,
    wanted: &Config,
    name: &str,
) -> Result<(String, bool)> {
    if let Some(old) = old {
        if let Some(text) = edit_in_place(old, existing, wanted, name) {
            if config::parse(&text).is_ok_and(|c| c == *wanted) {
                return Ok((text, true));
            }
        }
    }
    let mut text = String::from(
        "# bpstudio-op configuration, written by `bpstudio-op configure`.\n\
         # Every key is described in config.example.toml.\n\n",
    );
    let body = config::to_toml(wanted)
        .map_err(|e| Error::config(format!("cannot write the config as TOML: {e}")))?;
    text.push_str(&body);
    let kept = old.is_none_or(|o| !o.contains('#'));
    Ok((text, kept))
}

/// The comment at the end of a `key = value` line, with the spaces before it: the first `#`
/// before which the line is valid TOML (a `#` inside a string leaves it unterminated).
fn trailing_comment(line: &str) -> Option<&str> {
    line.match_indices('#')
        .map(|(i, _)| i)
        .find(|&i| toml::from_str::<toml::Table>(&line[..i]).is_ok())
        .map(|i| {
            let start = line[..i].trim_end().len();
            &line[start..]
        })
}

fn is_header(line: &str) -> bool {
    line.trim_start().starts_with('[')
}

/// Whether `line` is the `[profiles.NAME]` header.
fn is_profile_header(line: &str, name: &str) -> bool {
    let line = line.split('#').next().unwrap_or("");
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    compact == format!("[profiles.{name}]") || compact == format!("[profiles.\"{name}\"]")
}

/// The key a `key = value` line assigns.
fn assigned_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('#')).then_some(key)
}

fn edit_in_place(old: &str, existing: &Config, wanted: &Config, name: &str) -> Option<String> {
    if old.contains("\"\"\"") || old.contains("'''") {
        return None;
    }
    let newline = if old.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = old.lines().map(str::to_string).collect();

    // The top-level `profile` key, when it is new.
    if wanted.profile != existing.profile {
        let value = toml::Value::String(wanted.profile.clone()?).to_string();
        let first_header = lines
            .iter()
            .position(|l| is_header(l))
            .unwrap_or(lines.len());
        lines.insert(first_header, format!("profile = {value}"));
        if first_header < lines.len() - 1 {
            lines.insert(first_header + 1, String::new());
        }
    }

    let entries = profile_entries(&wanted.profiles[name]);
    match lines.iter().position(|l| is_profile_header(l, name)) {
        None => {
            if existing.profiles.contains_key(name) {
                return None; // defined some other way (inline table, dotted keys)
            }
            if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push(format!("[profiles.{name}]"));
            for (key, value) in entries {
                if let Some(v) = value {
                    lines.push(format!("{key} = {v}"));
                }
            }
        }
        Some(header) => {
            let end = lines[header + 1..]
                .iter()
                .position(|l| is_header(l))
                .map_or(lines.len(), |i| header + 1 + i);
            let mut section: Vec<String> = lines[header + 1..end].to_vec();
            let before = profile_entries(existing.profile(name)?);
            for ((key, value), (_, old_value)) in entries.into_iter().zip(before) {
                if value == old_value {
                    continue; // unchanged: keep the line as the user wrote it
                }
                let at = section.iter().position(|l| assigned_key(l) == Some(key));
                match (at, value) {
                    (Some(i), Some(v)) => {
                        let comment = trailing_comment(&section[i]).unwrap_or("");
                        section[i] = format!("{key} = {v}{comment}");
                    }
                    (Some(i), None) => {
                        section.remove(i);
                    }
                    (None, Some(v)) => {
                        let last_key = section
                            .iter()
                            .rposition(|l| assigned_key(l).is_some())
                            .map_or(0, |i| i + 1);
                        section.insert(last_key, format!("{key} = {v}"));
                    }
                    (None, None) => {}
                }
            }
            lines.splice(header + 1..end, section);
        }
    }
    let mut text = lines.join(newline);
    text.push_str(newline);
    Some(text)
}

/// Replaces `path` with `contents` atomically: a temporary file in the same directory,
/// written, fsynced and renamed over it, mode 0600; the directory is created with mode 0700.
/// On failure the old file is untouched and the temporary file removed.
pub fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let fail = |what: &str, p: &Path, e: io::Error| {
        Error::config(format!("cannot {what} {}: {e}", p.display()))
    };
    // Write through a symlink to its target, rather than replacing the link.
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| fail("follow the link", path, e))?
        }
        _ => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir).map_err(|e| fail("create directory", &dir, e))?;
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".to_string());

    let (temp_path, mut file) =
        create_temp(&dir, &file_name).map_err(|e| fail("create a file in", &dir, e))?;
    let result = (|| -> io::Result<()> {
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp_path, &target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp_path);
        return Err(fail("write", &target, e));
    }
    // Make the rename itself durable; not all platforms can open a directory.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn create_temp(dir: &Path, file_name: &str) -> io::Result<(PathBuf, fs::File)> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100u32 {
        let path = dir.join(format!(
            ".{file_name}.{}.{stamp}.{attempt}.tmp",
            std::process::id()
        ));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary file name",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const SECRET: &str = "S3cretS3cretS3cretWXYZ";
    const TOKEN: &str = "TokenTokenToken1234";

    struct Run {
        stderr: String,
        prompts: Vec<String>,
        result: Result<()>,
    }

    fn go(
        args: &ConfigureArgs,
        path: &Path,
        stdin: &str,
        interactive: bool,
        secrets: &[&str],
    ) -> Run {
        let mut stdin = Cursor::new(stdin.as_bytes().to_vec());
        let mut stderr = Vec::new();
        let mut prompts = Vec::new();
        let mut answers = secrets.iter().map(|s| s.to_string());
        let mut read_secret = |p: &str| {
            prompts.push(p.to_string());
            Ok(answers.next().unwrap_or_default())
        };
        let result = run(
            args,
            path,
            &mut ConfigureIo {
                stdin: &mut stdin,
                stderr: &mut stderr,
                interactive,
                read_secret: &mut read_secret,
            },
        );
        Run {
            stderr: String::from_utf8(stderr).unwrap(),
            prompts,
            result,
        }
    }

    fn scripted(id: &str) -> ConfigureArgs {
        ConfigureArgs {
            access_key_id: Some(id.to_string()),
            secret_stdin: true,
            ..ConfigureArgs::default()
        }
    }

    fn load(path: &Path) -> Config {
        config::parse(&fs::read_to_string(path).unwrap()).unwrap()
    }

    fn assert_no_secret(r: &Run) {
        let all = format!("{} {:?} {:?}", r.stderr, r.prompts, r.result);
        assert!(
            !all.contains(SECRET) && !all.contains(TOKEN),
            "secret leaked: {all}"
        );
    }

    #[test]
    fn scripted_creates_the_file_and_directory_privately() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/bpstudio-op/config.toml");
        let r = go(
            &scripted("LTAIabc"),
            &path,
            &format!("{SECRET}\n"),
            false,
            &[],
        );
        r.result.as_ref().unwrap();
        assert_no_secret(&r);
        assert_eq!(
            r.stderr,
            format!("Saved profile 'default' (AK) to {}\n", path.display())
        );
        let c = load(&path);
        let p = c.profile("default").unwrap();
        assert_eq!(p.access_key_id.as_deref(), Some("LTAIabc"));
        assert_eq!(p.access_key_secret.as_deref(), Some(SECRET));
        assert_eq!(p.mode, Some(Mode::Ak));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        // Nothing else left in the directory (no temporary file).
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.toml")]);
    }

    #[test]
    fn scripted_sts_token_reads_two_lines_and_settings_come_from_globals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let args = ConfigureArgs {
            mode: Some(Mode::StsToken),
            profile: Some("ci".into()),
            region: Some("ap-southeast-1".into()),
            output: Some(OutputFormat::Json),
            signature_version: Some(SignatureVersion::V3),
            ..scripted("STS.id")
        };
        let r = go(&args, &path, &format!("{SECRET}\r\n{TOKEN}\n"), false, &[]);
        r.result.as_ref().unwrap();
        assert_no_secret(&r);
        let c = load(&path);
        // The first profile of a new file becomes its default profile.
        assert_eq!(c.default_profile_name(), "ci");
        let p = c.profile("ci").unwrap();
        assert_eq!(p.security_token.as_deref(), Some(TOKEN));
        assert_eq!(p.region_id.as_deref(), Some("ap-southeast-1"));
        assert_eq!(p.output, Some(OutputFormat::Json));
        assert_eq!(p.signature_version, Some(SignatureVersion::V3));
        // A missing token is refused.
        let r = go(
            &ConfigureArgs {
                profile: Some("ci2".into()),
                ..args
            },
            &path,
            &format!("{SECRET}\n"),
            false,
            &[],
        );
        assert!(r.result.unwrap_err().message.contains("security token"));
    }

    #[test]
    fn empty_secret_is_refused_and_the_file_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        for stdin in ["", "\n", "   \n"] {
            let r = go(&scripted("LTAIabc"), &path, stdin, false, &[]);
            let e = r.result.unwrap_err();
            assert!(e.message.contains("empty access key secret"), "{e}");
            assert_eq!(e.exit_code(), 2);
            assert!(!path.exists());
        }
        // Interactive: an empty answer with no stored secret is refused too.
        let r = go(&ConfigureArgs::default(), &path, "LTAIabc\n", true, &[""]);
        assert!(r
            .result
            .unwrap_err()
            .message
            .contains("empty access key secret"));
        assert!(
            fs::read_dir(dir.path()).unwrap().next().is_none(),
            "no file, no temporary file"
        );
        // Without any id in scripted use: say which flag is missing.
        let r = go(&ConfigureArgs::default(), &path, "", false, &[]);
        assert!(r
            .result
            .unwrap_err()
            .hint
            .unwrap()
            .contains("--access-key-id"));
    }

    #[test]
    fn updates_in_place_keeping_other_profiles_and_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = "\
# my settings
profile = \"default\"

[profiles.default] # the main one
# keys below
access_key_id = \"OLDID\"
access_key_secret = \"OLDSECRET\"
region_id = \"cn-hangzhou\" # home region
timeout = \"10m\"

[profiles.other]
access_key_id = \"OTHER\"
access_key_secret = \"OTHERSECRET\"
";
        fs::write(&path, original).unwrap();
        let args = ConfigureArgs {
            region: Some("ap-southeast-1".into()),
            ..scripted("NEWID")
        };
        let r = go(&args, &path, &format!("{SECRET}\n"), false, &[]);
        r.result.as_ref().unwrap();
        assert!(!r.stderr.contains("comments were not kept"), "{}", r.stderr);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my settings\n"), "{text}");
        assert!(text.contains("# keys below\n"), "{text}");
        assert!(
            text.contains("[profiles.default] # the main one\n"),
            "{text}"
        );
        assert!(text.contains("timeout = \"10m\""), "{text}");
        assert!(
            text.contains("region_id = \"ap-southeast-1\" # home region\n"),
            "{text}"
        );
        assert!(text.contains("[profiles.other]\naccess_key_id = \"OTHER\"\naccess_key_secret = \"OTHERSECRET\"\n"), "{text}");
        assert!(!text.contains("OLDSECRET"), "{text}");
        let c = load(&path);
        let p = c.profile("default").unwrap();
        assert_eq!(p.access_key_id.as_deref(), Some("NEWID"));
        assert_eq!(p.access_key_secret.as_deref(), Some(SECRET));
        assert_eq!(p.region_id.as_deref(), Some("ap-southeast-1"));
        assert_eq!(p.mode, Some(Mode::Ak));
        assert_eq!(
            c.profile("other").unwrap().access_key_id.as_deref(),
            Some("OTHER")
        );
    }

    #[test]
    fn adds_a_new_profile_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(
            &path,
            "# hello\n[profiles.default]\nregion_id = \"cn-hangzhou\"\n",
        )
        .unwrap();
        let args = ConfigureArgs {
            profile: Some("dev".into()),
            ..scripted("DEVID")
        };
        go(&args, &path, &format!("{SECRET}\n"), false, &[])
            .result
            .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# hello\n[profiles.default]\nregion_id = \"cn-hangzhou\"\n\n[profiles.dev]\nmode = \"AK\"\n"), "{text}");
        // The default profile is not changed by adding another.
        assert_eq!(load(&path).profile, None);
    }

    #[test]
    fn scripted_update_of_settings_keeps_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(
            &path,
            format!(
                "[profiles.default]\naccess_key_id = \"ID\"\naccess_key_secret = \"{SECRET}\"\n"
            ),
        )
        .unwrap();
        let args = ConfigureArgs {
            output: Some(OutputFormat::Json),
            ..ConfigureArgs::default()
        };
        let r = go(&args, &path, "", false, &[]);
        r.result.as_ref().unwrap();
        let p = load(&path).profiles.remove("default").unwrap();
        assert_eq!(p.access_key_secret.as_deref(), Some(SECRET));
        assert_eq!(p.output, Some(OutputFormat::Json));
        // Switching StsToken to AK drops the token.
        fs::write(&path, format!("[profiles.default]\nmode = \"StsToken\"\naccess_key_id = \"ID\"\naccess_key_secret = \"{SECRET}\"\nsecurity_token = \"{TOKEN}\"\n")).unwrap();
        let args = ConfigureArgs {
            mode: Some(Mode::Ak),
            ..ConfigureArgs::default()
        };
        go(&args, &path, "", false, &[]).result.unwrap();
        let p = load(&path).profiles.remove("default").unwrap();
        assert_eq!(p.security_token, None);
        assert_eq!(p.mode, Some(Mode::Ak));
    }

    #[test]
    fn interactive_prompts_show_current_values_masked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, format!("[profiles.default]\naccess_key_id = \"OLDID\"\naccess_key_secret = \"{SECRET}\"\nregion_id = \"cn-shanghai\"\n")).unwrap();
        // Keep the id (Enter), keep the secret (empty), new region, json output.
        let r = go(
            &ConfigureArgs::default(),
            &path,
            "\nap-southeast-1\njson\n",
            true,
            &[""],
        );
        r.result.as_ref().unwrap();
        assert_no_secret(&r);
        assert!(r.stderr.contains("Access Key Id [OLDID]: "), "{}", r.stderr);
        assert!(
            r.stderr.contains("Default Region Id [cn-shanghai]: "),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("Default Output Format (table|json) [table]: "),
            "{}",
            r.stderr
        );
        assert_eq!(
            r.prompts,
            vec!["Access Key Secret [****WXYZ]: ".to_string()]
        );
        let p = load(&path).profiles.remove("default").unwrap();
        assert_eq!(p.access_key_secret.as_deref(), Some(SECRET));
        assert_eq!(p.region_id.as_deref(), Some("ap-southeast-1"));
        assert_eq!(p.output, Some(OutputFormat::Json));
    }

    #[test]
    fn interactive_new_id_needs_a_new_secret_and_sts_prompts_for_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let args = ConfigureArgs {
            mode: Some(Mode::StsToken),
            ..ConfigureArgs::default()
        };
        let r = go(&args, &path, "NEWID\n\n\n", true, &[SECRET, TOKEN]);
        r.result.as_ref().unwrap();
        assert_no_secret(&r);
        assert_eq!(
            r.prompts,
            vec![
                "Access Key Secret: ".to_string(),
                "Security Token: ".to_string()
            ]
        );
        let p = load(&path).profiles.remove("default").unwrap();
        assert_eq!(p.security_token.as_deref(), Some(TOKEN));
        assert_eq!(p.region_id, None, "Enter keeps the built-in default");
        // Changing the id without a secret is refused.
        let r = go(&ConfigureArgs::default(), &path, "OTHERID\n", true, &[""]);
        assert!(r
            .result
            .unwrap_err()
            .message
            .contains("empty access key secret"));
        assert_eq!(
            load(&path).profiles["default"].access_key_id.as_deref(),
            Some("NEWID")
        );
    }

    #[test]
    fn malformed_existing_file_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "[profiles.default]\nregoin = \"x\"\n").unwrap();
        let e = go(&scripted("ID"), &path, &format!("{SECRET}\n"), false, &[])
            .result
            .unwrap_err();
        assert!(e.message.contains("line 2"), "{e}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "[profiles.default]\nregoin = \"x\"\n"
        );
    }

    #[test]
    fn failed_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory, so the final rename fails.
        let path = dir.path().join("config.toml");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "x").unwrap();
        let e = write_atomically(&path, "profile = \"x\"\n").unwrap_err();
        assert!(e.message.contains(&path.display().to_string()), "{e}");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("config.toml")],
            "temporary file removed"
        );
        assert_eq!(fs::read_to_string(path.join("keep")).unwrap(), "x");
    }

    #[test]
    fn replaces_an_existing_file_atomically_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            write_atomically(&path, "new\n").unwrap();
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            // Through a symlink: the target changes, the link stays.
            let link = dir.path().join("link.toml");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            write_atomically(&link, "via link\n").unwrap();
            assert!(fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(fs::read_to_string(&path).unwrap(), "via link\n");
        }
    }

    #[test]
    fn unusual_layout_falls_back_to_a_full_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(
            &path,
            "# note\nprofiles = { default = { region_id = \"cn-hangzhou\" } }\n",
        )
        .unwrap();
        let r = go(&scripted("ID"), &path, &format!("{SECRET}\n"), false, &[]);
        r.result.as_ref().unwrap();
        assert!(r.stderr.contains("comments were not kept"), "{}", r.stderr);
        let p = load(&path).profiles.remove("default").unwrap();
        assert_eq!(p.region_id.as_deref(), Some("cn-hangzhou"));
        assert_eq!(p.access_key_id.as_deref(), Some("ID"));
    }

    #[test]
    fn refuses_bad_profile_names_and_unwritable_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let args = ConfigureArgs {
            profile: Some("a.b".into()),
            ..scripted("ID")
        };
        assert!(go(&args, &path, "x\n", false, &[])
            .result
            .unwrap_err()
            .message
            .contains("invalid profile name"));
        fs::write(&path, "[profiles.default]\nmode = \"EcsRamRole\"\n").unwrap();
        let e = go(&scripted("ID"), &path, "x\n", false, &[])
            .result
            .unwrap_err();
        assert!(e.message.contains("EcsRamRole"), "{e}");
    }

    #[test]
    fn trailing_comments_are_found_outside_strings() {
        assert_eq!(trailing_comment("a = \"x#y\"  # note"), Some("  # note"));
        assert_eq!(trailing_comment("a = \"x#y\""), None);
        assert_eq!(trailing_comment("a = \"x\"#n"), Some("#n"));
    }

    #[test]
    fn unchanged_lines_keep_their_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = format!("[profiles.default]\nmode = \"ak\"\naccess_key_id = \"ID\"\naccess_key_secret = \"{SECRET}\"\ntimeout = \"90m\"  # long\n");
        fs::write(&path, &text).unwrap();
        let args = ConfigureArgs {
            region: Some("cn-shanghai".into()),
            ..ConfigureArgs::default()
        };
        go(&args, &path, "", false, &[]).result.unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{text}region_id = \"cn-shanghai\"\n")
        );
    }

    #[test]
    fn mask_shows_only_the_last_four() {
        assert_eq!(mask("abcdefghijkl"), "****ijkl");
        assert_eq!(mask("short"), "****");
    }

    #[test]
    fn args_embed_next_to_global_options_without_clashes() {
        use clap::{CommandFactory, Parser, Subcommand};
        #[derive(Parser)]
        struct Cli {
            #[arg(long, global = true)]
            profile: Option<String>,
            #[arg(long, global = true)]
            region: Option<String>,
            #[arg(short, long, global = true, value_enum)]
            output: Option<OutputFormat>,
            #[arg(long, global = true, value_enum)]
            signature_version: Option<SignatureVersion>,
            #[command(subcommand)]
            command: Cmd,
        }
        #[derive(Subcommand)]
        enum Cmd {
            Configure(ConfigureArgs),
        }
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "x",
            "configure",
            "--profile",
            "p",
            "--mode",
            "ststoken",
            "--access-key-id",
            "I",
            "--secret-stdin",
        ])
        .unwrap();
        let Cmd::Configure(args) = cli.command;
        assert_eq!(args.mode, Some(Mode::StsToken));
        assert_eq!(args.access_key_id.as_deref(), Some("I"));
        assert!(args.secret_stdin);
        assert_eq!(cli.profile.as_deref(), Some("p"));
        assert!(Cli::try_parse_from(["x", "configure", "--mode", "RamRoleArn"]).is_err());
    }
}
