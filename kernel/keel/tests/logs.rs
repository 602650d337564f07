//! `keel serve`'s log as an operator collects it: written to a pipe, it
//! carries no terminal colour codes, and with `--log-format json` every
//! line is one JSON object whose spans name the request it belongs to.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Starts `keel serve` logging as `format` to a pipe, sends one request
/// with `request_id`, and returns the lines logged up to the request's.
fn serve_one_request(format: &str, request_id: &str) -> Vec<String> {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["serve", "--addr", "127.0.0.1:0", "--log-format", format, "--data"])
        .arg(data.path().join("data"))
        .env("KEEL_ADMIN_PASSWORD", "logs test admin password")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run keel serve");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let next = |seen: &mut Vec<String>| {
        let line = received.recv_timeout(Duration::from_secs(60)).expect("a log line in time");
        seen.push(line.clone());
        line
    };
    let addr = loop {
        let line = next(&mut seen);
        if line.contains("keel is serving") {
            let at = line.find("127.0.0.1:").expect("the address it serves on");
            let addr: String = line[at..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || ".:".contains(*c))
                .collect();
            break addr;
        }
    };
    let mut stream = TcpStream::connect(&addr).unwrap();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nhost: {addr}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    while !next(&mut seen).contains(request_id) {}
    child.kill().unwrap();
    child.wait().unwrap();
    seen
}

#[test]
fn logs_written_to_a_pipe_have_no_colour_and_json_lines_name_their_request() {
    let text = serve_one_request("text", "req-text-1");
    assert!(text.iter().all(|line| !line.contains('\u{1b}')), "no ANSI codes: {text:?}");
    let served = text.iter().find(|line| line.contains("req-text-1")).unwrap();
    assert!(served.contains("served") && served.contains("status=200"), "{served}");

    let json = serve_one_request("json", "req-json-1");
    for line in &json {
        assert!(!line.contains('\u{1b}'), "{line}");
        let object: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        assert!(object["level"].is_string() && object["timestamp"].is_string(), "{line}");
    }
    let served = json
        .iter()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|object| object["fields"]["message"] == "served")
        .expect("the request's line");
    assert_eq!(served["fields"]["status"], 200, "{served}");
    let spans = served["spans"].as_array().expect("its spans");
    assert!(
        spans.iter().any(|span| span["request_id"] == "req-json-1" && span["path"] == "/healthz"),
        "{served}"
    );
}
