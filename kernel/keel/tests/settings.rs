//! `keel serve --config FILE` and `keel config check FILE`, as an operator
//! runs them: the file's settings hold where neither the command line nor
//! the environment gives one, and a wrong one is named with its line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `keel` with none of the operator's KEEL_* variables.
fn keel() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keel"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KEEL_") {
            command.env_remove(name);
        }
    }
    command.env_remove("RUST_LOG");
    command
}

fn settings(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let file = dir.join("keel.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_check_shows_each_setting_and_where_it_came_from_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = settings(
        dir.path(),
        "addr = \"0.0.0.0:9000\"\ncall-deadline-ms = 2500\n\
         admin-password = \"a long admin password\"\ntrusted-proxy = [\"10.0.0.1\"]\n",
    );
    let out = keel()
        .args(["config", "check"])
        .arg(&file)
        .env("KEEL_DATA", dir.path().join("from-env"))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}{}", String::from_utf8_lossy(&out.stderr));
    assert!(shown.contains("the settings are usable"), "{shown}");
    for line in [
        "addr = 0.0.0.0:9000  (file)",
        "call-deadline-ms = 2500  (file)",
        "trusted-proxy = 10.0.0.1  (file)",
        "admin-password = (set, not shown)  (file)",
        "memory-mib = 64  (default)",
        "from-env  (environment)",
    ] {
        assert!(shown.contains(line), "{line:?} in {shown}");
    }
    assert!(!shown.contains("a long admin password"), "{shown}");
}

#[test]
fn a_check_names_the_wrong_setting_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, says) in [
        ("addr = \"127.0.0.1:8080\"\ncall-deadline = 5\n", ":2: unknown setting `call-deadline`"),
        ("memory-mib = \"lots\"\n", "lots"),
        ("memory-mib = 64\nguest-memory-total-mib = 16\n", "must each be at least --memory-mib"),
    ] {
        let file = settings(dir.path(), text);
        let out = keel().args(["config", "check"]).arg(&file).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text} refused");
        assert!(
            said.contains(&file.display().to_string()) && said.contains(says),
            "{says:?} in {said}"
        );
    }
}

#[test]
fn serve_takes_its_settings_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = settings(
        dir.path(),
        &format!(
            "addr = \"127.0.0.1:0\"\ndata = {data:?}\nlog-format = \"json\"\n\
             admin-password = \"settings test password\"\nmetrics-token = \"scrape-me\"\n"
        ),
    );
    let mut child =
        keel().args(["serve", "--config"]).arg(&file).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let addr = loop {
        assert!(started.elapsed() < Duration::from_secs(60), "keel serves in time");
        let line = lines.next().expect("a log line").unwrap();
        let logged: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|err| panic!("JSON, as the file says: {err}: {line}"));
        if logged["fields"]["message"] == "keel is serving" {
            break logged["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    let mut stream = TcpStream::connect(&addr).unwrap();
    let request = format!(
        "GET /metrics HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer scrape-me\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "the file's metrics token: {answer}");
    assert!(data.join("keel.redb").exists(), "the file's data directory");
    child.kill().unwrap();
    child.wait().unwrap();
}
