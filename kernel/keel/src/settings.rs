//! The server's settings file: `keel serve --config keel.toml`, and
//! `keel config check keel.toml`.
//!
//! A file's keys are `keel serve`'s long option names (`addr`, `data`,
//! `call-deadline-ms`, `trusted-proxy`, …), so that `keel serve --help`
//! documents both, and a setting means the same wherever it is given. An
//! option on the command line or in its environment variable beats the
//! file; the file beats the default.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context as _, bail};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory as _, FromArgMatches as _};

/// Settings a check report shows only as set, never their value.
const SECRETS: [&str; 2] = ["admin-password", "metrics-token"];

/// The command line parsed, with the settings of the file
/// `keel serve --config` names folded in. Exits with clap's message for
/// a malformed command line, as any other parse would.
pub(crate) fn parse(args: Vec<OsString>) -> anyhow::Result<super::Cli> {
    let (matches, _) = matches(args)?;
    Ok(super::Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit()))
}

/// `keel config check FILE`: reads the file as `keel serve --config FILE`
/// would, with the environment, checks every setting, and shows where
/// each came from.
pub(crate) fn check(file: &Path) -> anyhow::Result<()> {
    let args = ["keel", "serve", "--config"].map(OsString::from).into_iter();
    let args = args.chain([file.as_os_str().to_owned()]).collect();
    let (matches, from_file) = matches(args)?;
    let cli = super::Cli::from_arg_matches(&matches)
        .with_context(|| format!("{}: settings that do not fit together", file.display()))?;
    let super::Command::Serve(serve) = cli.command else {
        bail!("the settings file is read by `keel serve`");
    };
    let config = super::kernel_config(*serve)
        .with_context(|| format!("{}: the settings are not usable", file.display()))?;
    config.check().with_context(|| format!("{}: the settings are not usable", file.display()))?;
    let Some(("serve", serve)) = matches.subcommand() else {
        bail!("the settings file is read by `keel serve`");
    };
    let mut lines = vec![format!("{}: the settings are usable", file.display())];
    let mut command = super::Cli::command();
    command.build();
    for arg in command.find_subcommand("serve").into_iter().flat_map(|c| c.get_arguments()) {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else { continue };
        let Some(values) = serve.get_raw(id) else { continue };
        let shown: Vec<String> = if SECRETS.contains(&long) {
            vec!["(set, not shown)".to_owned()]
        } else {
            values.map(|v| v.to_string_lossy().into_owned()).collect()
        };
        let from = match serve.value_source(id) {
            _ if from_file.contains(long) => "file",
            Some(ValueSource::CommandLine) => "command line",
            Some(ValueSource::EnvVariable) => "environment",
            _ => "default",
        };
        lines.push(format!("  {long} = {}  ({from})", shown.join(", ")));
    }
    crate::client::show_line(&lines.join("\n"));
    Ok(())
}

/// The command line's matches, with the settings file's folded in after
/// it; and the settings the file gave.
fn matches(mut args: Vec<OsString>) -> anyhow::Result<(ArgMatches, BTreeSet<String>)> {
    let mut command = super::Cli::command();
    // Global options (`log-format`) become the subcommands' own.
    command.build();
    // A first look only finds the file: what the command line lacks (an
    // option another requires) the file may give.
    let first = command.clone().ignore_errors(true).try_get_matches_from(&args);
    let file = match first.as_ref().ok().and_then(ArgMatches::subcommand) {
        Some(("serve", serve)) => serve.get_one::<std::path::PathBuf>("config").cloned(),
        _ => None,
    };
    let (Some(file), Ok(first)) = (file, first) else {
        let matches = command.try_get_matches_from(&args).unwrap_or_else(|err| err.exit());
        return Ok((matches, BTreeSet::new()));
    };
    let Some(("serve", serve)) = first.subcommand() else {
        bail!("the settings file is read by `keel serve`");
    };
    let (extra, from_file, text) = file_args(&file, &command, serve)?;
    args.extend(extra);
    let matches = command.try_get_matches_from(&args).map_err(|err| {
        // clap's words, without its usage lines, at the file's line of
        // the setting it names, if the file gave it.
        let said = err.to_string();
        let said: Vec<&str> = said
            .lines()
            .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more"))
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let said = said.join(" ");
        let said = said.trim_start_matches("error: ");
        let named = said.split("--").skip(1).find_map(|rest| {
            let name: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            from_file.contains(&name).then_some(name)
        });
        match named {
            Some(name) => anyhow::anyhow!("{}:{}: {said}", file.display(), line_of(&text, &name)),
            None => anyhow::anyhow!("{}: {said}", file.display()),
        }
    })?;
    Ok((matches, from_file))
}

/// The options the file gives, as command-line arguments, for the settings
/// neither the command line nor the environment gave.
fn file_args(
    file: &Path,
    command: &clap::Command,
    given: &ArgMatches,
) -> anyhow::Result<(Vec<OsString>, BTreeSet<String>, String)> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the settings file {}", file.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", file.display()))?;
    let serve = command.find_subcommand("serve").context("keel has no serve command")?;
    let mut args = Vec::new();
    let mut from_file = BTreeSet::new();
    for (key, value) in &table {
        let at = || format!("{}:{}", file.display(), line_of(&text, key));
        let Some(arg) = serve.get_arguments().find(|a| {
            a.get_long() == Some(key.as_str())
                && !["config", "help", "version"].contains(&key.as_str())
        }) else {
            bail!(
                "{}: unknown setting `{key}`; the settings are `keel serve`'s long options \
                 (`keel serve --help`), such as `addr`, `data` or `call-deadline-ms`",
                at()
            );
        };
        let long = arg.get_long().unwrap_or_default();
        if matches!(
            given.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let repeatable = matches!(arg.get_action(), ArgAction::Append);
        let values = match value {
            toml::Value::Boolean(on) if matches!(arg.get_action(), ArgAction::SetTrue) => {
                if *on {
                    args.push(OsString::from(format!("--{long}")));
                }
                from_file.insert(long.to_owned());
                continue;
            }
            _ if matches!(arg.get_action(), ArgAction::SetTrue) => {
                bail!("{}: `{key}` takes true or false, not {}", at(), value.type_str())
            }
            toml::Value::Array(items) if repeatable => items.iter().collect(),
            toml::Value::Array(_) => bail!("{}: `{key}` takes one value, not a list", at()),
            scalar => vec![scalar],
        };
        for value in values {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(x) => x.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => bail!(
                    "{}: `{key}` takes {}, not {}",
                    at(),
                    if matches!(arg.get_action(), ArgAction::SetTrue) {
                        "true or false"
                    } else {
                        "a string or a number"
                    },
                    other.type_str()
                ),
            };
            args.push(OsString::from(format!("--{long}={text}")));
        }
        from_file.insert(long.to_owned());
    }
    Ok((args, from_file, text))
}

/// The line of `text` that sets `key` (1 if it cannot be told).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| {
            let line = line.trim_start().trim_start_matches('"');
            line.strip_prefix(key).is_some_and(|rest| {
                let rest = rest.trim_start_matches('"').trim_start();
                rest.starts_with('=')
            })
        })
        .map_or(1, |at| at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &[&str]) -> Vec<OsString> {
        line.iter().map(OsString::from).collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    fn serve(line: &[&str]) -> anyhow::Result<super::super::ServeArgs> {
        match parse(args(line))?.command {
            super::super::Command::Serve(serve) => Ok(*serve),
            _ => bail!("not serve"),
        }
    }

    #[test]
    fn a_file_sets_what_the_command_line_does_not() {
        let settings = file(
            "addr = \"0.0.0.0:9000\"\ncall-deadline-ms = 2500\ndemo = true\n\
             trusted-proxy = [\"10.0.0.1\", \"10.0.0.2\"]\nmemory-mib = 32\n",
        );
        let path = settings.path().to_str().unwrap();
        let serve = serve(&["keel", "serve", "--config", path, "--memory-mib", "48"]).unwrap();
        assert_eq!(serve.addr.to_string(), "0.0.0.0:9000");
        assert_eq!(serve.call_deadline_ms, 2500);
        assert!(serve.demo);
        assert_eq!(serve.trusted_proxies.len(), 2);
        assert_eq!(serve.memory_mib, 48, "the command line beats the file");
    }

    #[test]
    fn the_file_may_give_what_an_option_given_elsewhere_requires() {
        let settings = file("tls-key = \"/etc/keel/key.pem\"\n");
        let path = settings.path().to_str().unwrap();
        let serve = serve(&["keel", "serve", "--config", path, "--tls-cert", "/etc/keel/cert.pem"])
            .unwrap();
        assert_eq!(serve.tls_key.unwrap().to_str(), Some("/etc/keel/key.pem"));
        assert_eq!(serve.tls_cert.unwrap().to_str(), Some("/etc/keel/cert.pem"));
    }

    #[test]
    fn a_bad_setting_is_named_with_its_line() {
        let unknown = file("addr = \"127.0.0.1:8080\"\n\ncall-deadline = 5\n");
        let path = unknown.path().to_str().unwrap();
        let err = format!("{:#}", serve(&["keel", "serve", "--config", path]).unwrap_err());
        assert!(err.contains(&format!("{path}:3: unknown setting `call-deadline`")), "{err}");

        let mistyped = file("addr = \"127.0.0.1:8080\"\ncall-deadline-ms = \"soon\"\n");
        let path = mistyped.path().to_str().unwrap();
        let err = format!("{:#}", serve(&["keel", "serve", "--config", path]).unwrap_err());
        assert!(err.contains(&format!("{path}:2: invalid value 'soon'")), "{err}");

        let flag = file("demo = \"yes\"\n");
        let path = flag.path().to_str().unwrap();
        let err = format!("{:#}", serve(&["keel", "serve", "--config", path]).unwrap_err());
        assert!(err.contains(&format!("{path}:1: `demo` takes true or false")), "{err}");

        let listed = file("addr = [\"127.0.0.1:1\"]\n");
        let path = listed.path().to_str().unwrap();
        let err = format!("{:#}", serve(&["keel", "serve", "--config", path]).unwrap_err());
        assert!(err.contains("`addr` takes one value"), "{err}");

        let broken = file("addr = \n");
        let path = broken.path().to_str().unwrap();
        let err = format!("{:#}", serve(&["keel", "serve", "--config", path]).unwrap_err());
        assert!(err.contains("is not TOML"), "{err}");
    }
}
