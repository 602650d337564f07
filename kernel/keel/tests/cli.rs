//! The `keel` admin subcommands against a real kernel: the binary is run
//! as an operator would, and its answers checked.

use std::path::PathBuf;
use std::process::Command;

const PASSWORD: &str = "cli test admin password";

/// Runs `keel args...` with `env`; returns stdout, or panics with stderr.
fn keel(env: &[(&str, &str)], args: &[&str]) -> String {
    keel_showing(env, args).0
}

/// What a successful `keel` printed: its answer, and its progress on
/// standard error.
fn keel_showing(env: &[(&str, &str)], args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run keel");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "keel {args:?} failed: {stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

fn keel_fails(env: &[(&str, &str)], args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run keel");
    assert!(!output.status.success(), "keel {args:?} should fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn test_plugin(name: &str) -> PathBuf {
    let dir = std::env::var_os("KEEL_TEST_PLUGINS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-plugins"),
        PathBuf::from,
    );
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "{} is missing; run `cargo xtask build-plugins`", path.display());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_administer_keel_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let mut config = keel::Config::new(data.path().join("data"));
    config.addr = ([127, 0, 0, 1], 0).into();
    config.admin_password = Some(PASSWORD.to_owned());
    // Allowed by name, so that saving it resolves nothing.
    config.webhook_allow_hosts = vec!["hooks.example.com".to_owned()];
    let kernel = keel::start(config).await.expect("kernel starts");
    let url = format!("http://{}", kernel.addr());
    let notes = test_plugin("notes-v1");

    let session = tokio::task::spawn_blocking(move || {
        let base = [("KEEL_URL", url.as_str())];
        let token =
            keel(&base, &["login", "--user", "admin", "--password", PASSWORD]).trim().to_owned();
        assert!(token.starts_with("keel_"), "{token}");
        let env = [("KEEL_URL", url.as_str()), ("KEEL_TOKEN", token.as_str())];

        assert!(
            keel(&env, &["tenant", "create", "acme", "--name", "Acme Ltd"]).contains("Acme Ltd")
        );
        assert!(keel(&env, &["tenant", "list"]).contains("\"acme\""));
        let with_password = [env[0], env[1], ("KEEL_NEW_PASSWORD", "carol's long password")];
        assert!(
            keel(&with_password, &["user", "create", "carol", "--name", "Carol"])
                .contains("\"carol\"")
        );
        assert!(keel(&env, &["plugin", "install", notes.to_str().unwrap()]).contains("\"0.1.0\""));
        assert!(keel(&env, &["plugin", "inspect", "notes", "0.1.0"]).contains("note-taker"));
        assert!(keel(&env, &["plugin", "enable", "acme", "notes"]).contains("\"migrated\": true"));
        assert!(
            keel(&env, &["member", "set", "acme", "carol", "--role", "note-taker"])
                .contains("note-taker")
        );
        assert!(keel(&env, &["member", "list", "acme"]).contains("carol"));
        // Roles, rules, tokens, providers and dead letters have their own.
        let defined =
            keel(&env, &["role", "define", "acme", "scribe", "--permission", "notes.write"]);
        assert!(defined.contains("notes.write"), "{defined}");
        assert!(keel(&env, &["role", "list", "acme"]).contains("scribe"));
        assert!(keel(&env, &["role", "get", "acme", "scribe"]).contains("notes.write"));
        assert!(keel(&env, &["sod", "list", "acme"]).contains("rules"));
        let created = keel(&env, &["token", "create", "acme", "--name", "ci", "--role", "scribe"]);
        let created: serde_json::Value = serde_json::from_str(&created).unwrap();
        assert!(created["secret"].as_str().is_some_and(|s| !s.is_empty()), "{created}");
        let id = created["token"]["id"].as_str().unwrap().to_owned();
        assert!(keel(&env, &["token", "list", "acme"]).contains(&id));
        keel(&env, &["token", "revoke", "acme", &id]);
        assert!(keel(&env, &["provider", "list", "acme"]).starts_with('{'));
        assert!(keel(&env, &["dead-letter", "list", "acme"]).contains("dead_letters"));
        let renamed = keel(&env, &["tenant", "rename", "acme", "--name", "Acme Group"]);
        assert!(renamed.contains("Acme Group"), "{renamed}");
        let quota = keel(&env, &["tenant", "quota", "acme", "--mib", "10"]);
        assert!(quota.contains("10485760"), "{quota}");
        keel(&env, &["tenant", "quota", "acme", "--reset"]);
        keel(&env, &["role", "delete", "acme", "scribe"]);
        let refused = keel_fails(&env, &["member", "set", "acme", "carol", "--role", "wizard"]);
        assert!(refused.contains("422") && refused.contains("wizard"), "{refused}");
        keel(&env, &["member", "remove", "acme", "carol"]);
        assert!(!keel(&env, &["member", "list", "acme"]).contains("carol"));
        keel(&env, &["plugin", "disable", "acme", "notes"]);
        let verified = keel(&env, &["audit", "verify", "acme"]);
        assert!(verified.contains("\"ok\": true"), "{verified}");
        let listed = keel(&env, &["audit", "list", "acme", "--action", "plugin.disable"]);
        assert!(listed.contains("plugin.disable") && !listed.contains("plugin.enable"), "{listed}");
        let truncated =
            keel_fails(&env, &["audit", "verify", "acme", "--entries", "99", "--head", "00"]);
        assert!(truncated.contains("broken"), "{truncated}");
        // The whole trail exported, as JSON lines and as CSV.
        let lines = keel(&env, &["audit", "export", "acme"]);
        let entries: Vec<serde_json::Value> =
            lines.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert!(entries.len() >= 8, "{lines}");
        let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "every entry, in order");
        let csv = keel(
            &env,
            &["audit", "export", "acme", "--format", "csv", "--action", "plugin.disable"],
        );
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 2, "a header and the one entry: {csv}");
        assert!(rows[0].starts_with("seq,") && rows[1].contains("plugin.disable"), "{csv}");
        let heads = keel(&env, &["audit", "heads", "acme", "--sign"]);
        let head: serde_json::Value = serde_json::from_str(heads.lines().last().unwrap()).unwrap();
        assert_eq!(head["statement"]["chain"], "tenant/acme", "{heads}");
        let hook =
            ["webhook", "create", "https://hooks.example.com/keel", "--topic", "notes.noted"];
        let created = keel(&env, &[&hook[..], &["--tenant", "acme"]].concat());
        assert!(created.contains("whsec_") && created.contains("\"id\": 1"), "{created}");
        let listed = keel(&env, &["webhook", "list", "--tenant", "acme"]);
        assert!(
            listed.contains("1  active  https://hooks.example.com/keel  [notes.noted]"),
            "{listed}"
        );
        let paused = keel(&env, &["webhook", "pause", "1", "--tenant", "acme"]);
        assert!(paused.contains("\"active\": false"), "{paused}");
        let private = ["webhook", "create", "http://10.1.2.3/", "--topic", "notes.noted"];
        let refused = keel_fails(&env, &[&private[..], &["--tenant", "acme"]].concat());
        assert!(refused.contains("422") && refused.contains("private address"), "{refused}");
        let deleted = keel(&env, &["webhook", "delete", "1", "--tenant", "acme"]);
        assert!(deleted.contains("webhook 1 deleted"), "{deleted}");
        let anonymous = keel_fails(&base, &["tenant", "list"]);
        assert!(anonymous.contains("401") && anonymous.contains("keel login"), "{anonymous}");
        token
    })
    .await
    .unwrap();
    assert!(!session.is_empty());
    kernel.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_back_up_with_the_keys_and_restore_them_from_the_command_line() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut config = keel::Config::new(data.clone());
    config.addr = ([127, 0, 0, 1], 0).into();
    config.admin_password = Some(PASSWORD.to_owned());
    let kernel = keel::start(config).await.expect("kernel starts");
    let url = format!("http://{}", kernel.addr());
    let passphrase = root.path().join("passphrase");
    std::fs::write(&passphrase, "a passphrase kept apart\n").unwrap();
    let file = passphrase.to_str().unwrap().to_owned();
    let id = tokio::task::spawn_blocking(move || {
        let base = [("KEEL_URL", url.as_str())];
        let token =
            keel(&base, &["login", "--user", "admin", "--password", PASSWORD]).trim().to_owned();
        let env = [("KEEL_URL", url.as_str()), ("KEEL_TOKEN", token.as_str())];
        let made =
            keel(&env, &["backup", "create", "--keys-passphrase-file", &file, "--compiled-code"]);
        let made: serde_json::Value = serde_json::from_str(&made).unwrap();
        assert!(made["files"]["keys.sealed"].is_object(), "{made}");
        let id = made["id"].as_str().unwrap().to_owned();
        assert!(keel(&env, &["backup", "list"]).contains(&id));
        id
    })
    .await
    .unwrap();
    kernel.stop().await.unwrap();

    let backup = data.join("backups").join(&id);
    let (from, file) = (backup.to_str().unwrap(), passphrase.to_str().unwrap());
    let wrong = root.path().join("wrong");
    std::fs::write(&wrong, "not the passphrase at all").unwrap();
    let into = root.path().join("restored");
    let refused = keel_fails(
        &[],
        &[
            "restore",
            "--from",
            from,
            "--data",
            into.to_str().unwrap(),
            "--keys-passphrase-file",
            wrong.to_str().unwrap(),
        ],
    );
    assert!(refused.contains("the passphrase does not open the keys"), "{refused}");
    assert!(!into.join("keel.redb").exists(), "a wrong passphrase restores nothing");
    let restored = keel(
        &[],
        &[
            "restore",
            "--from",
            from,
            "--data",
            into.to_str().unwrap(),
            "--keys-passphrase-file",
            file,
        ],
    );
    assert!(
        restored.contains("keys: ") && restored.contains("opened with the passphrase"),
        "{restored}"
    );
    for key in ["secrets.key", "data.key", "audit-signing.key"] {
        assert_eq!(
            std::fs::read(into.join(key)).unwrap(),
            std::fs::read(data.join(key)).unwrap(),
            "{key}"
        );
    }
    let without = root.path().join("without");
    let (restored, shown) =
        keel_showing(&[], &["restore", "--from", from, "--data", without.to_str().unwrap()]);
    assert!(restored.contains("holds the kernel's keys, sealed"), "{restored}");
    // Each step's progress, a line each away from a terminal.
    for step in
        ["copying the files", "reading each file for its SHA-256", "checking every audit chain"]
    {
        assert!(shown.contains(&format!("backup {id}: {step}")), "{step}: {shown}");
    }
    assert!(!without.join("secrets.key").exists());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_and_database_are_private_to_the_kernels_user() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    let mut config = keel::Config::new(dir.clone());
    config.addr = ([127, 0, 0, 1], 0).into();
    config.admin_password = Some(PASSWORD.to_owned());
    let kernel = keel::start(config).await.expect("kernel starts");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the data directory");
    assert_eq!(mode(&dir.join("keel.redb")), 0o600, "the database");
    kernel.stop().await.unwrap();
}
