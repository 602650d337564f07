//! Scheduled reports, as a tenant meets them: a saved report mailed on a
//! timetable through an SMTP relay over STARTTLS, with the file attached
//! (here a relay on loopback that refuses mail before STARTTLS, and whose
//! certificate the kernel is told to trust); a send that keeps failing
//! retried, then reported to the addresses the schedule names.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

const REPORTS: &str = "/api/demo/reports";

/// A message the relay took.
#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: String,
}

/// An SMTP relay on loopback that speaks STARTTLS and refuses mail for
/// `nobody@example.com`.
struct Relay {
    port: u16,
    cert_pem: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Relay {
    async fn start() -> Self {
        let names = vec!["localhost".to_owned()];
        let rcgen::CertifiedKey { cert, key_pair } =
            rcgen::generate_simple_self_signed(names).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::try_from(key_pair.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, store) = (acceptor.clone(), Arc::clone(&store));
                tokio::spawn(async move {
                    let mut tcp = tcp;
                    tcp.write_all(b"220 localhost ESMTP test relay\r\n").await.unwrap();
                    // In the clear, only STARTTLS leads anywhere.
                    if let Some(tcp) = session(tcp, false, &store).await {
                        let tls = acceptor.accept(tcp).await.unwrap();
                        session(tls, true, &store).await;
                    }
                });
            }
        });
        Self { port, cert_pem: cert.pem(), received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// One SMTP session over `stream`: the stream back when the client asks
/// for STARTTLS (before TLS), none when it quits.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    tls: bool,
    store: &Mutex<Vec<Received>>,
) -> Option<S> {
    let mut reader = BufReader::new(stream);
    let (mut to, mut line) = (Vec::new(), String::new());
    loop {
        line.clear();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let command = line.trim_end().to_owned();
        let verb = command.split([' ', ':']).next().unwrap_or_default().to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" if tls => b"250-localhost\r\n250 8BITMIME\r\n",
            "EHLO" => b"250-localhost\r\n250 STARTTLS\r\n",
            "STARTTLS" if !tls => {
                reader.get_mut().write_all(b"220 go ahead\r\n").await.ok()?;
                return Some(reader.into_inner());
            }
            "MAIL" | "RCPT" | "DATA" if !tls => b"530 must issue STARTTLS first\r\n",
            "MAIL" => b"250 ok\r\n",
            "RCPT" if command.contains("nobody@example.com") => b"550 no such user here\r\n",
            "RCPT" => {
                let address = command.split(['<', '>']).nth(1).unwrap_or_default();
                to.push(address.to_owned());
                b"250 ok\r\n"
            }
            "DATA" => {
                reader.get_mut().write_all(b"354 end with .\r\n").await.ok()?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).await.ok()? == 0 {
                        return None;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                store.lock().unwrap().push(Received { to: std::mem::take(&mut to), data });
                b"250 queued\r\n"
            }
            "QUIT" => {
                reader.get_mut().write_all(b"221 bye\r\n").await.ok()?;
                return None;
            }
            "RSET" | "NOOP" => b"250 ok\r\n",
            _ => b"502 not implemented\r\n",
        };
        reader.get_mut().write_all(answer).await.ok()?;
    }
}

/// The attachment named `name` in a MIME message, decoded from base64.
fn attachment(data: &str, name: &str) -> Vec<u8> {
    let at = data.find(&format!("filename=\"{name}\"")).expect("the attachment is there");
    let body = &data[at..];
    let start = body.find("\r\n\r\n").unwrap() + 4;
    let encoded: String = body[start..]
        .lines()
        .take_while(|line| !line.starts_with("--"))
        .collect::<Vec<_>>()
        .concat();
    base64(encoded.trim())
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        other => panic!("not base64: {other}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|b| *b != b'=').map(value).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, v)| n | u32::from(*v) << (18 - 6 * i));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

async fn schedules(k: &TestKernel) -> Value {
    k.get(&format!("{REPORTS}/movements/schedules")).await.expect(200).clone()
}

/// The schedule `name` once its last run is for a slot other than `before`.
async fn sent(k: &TestKernel, name: &str, before: &Value) -> Value {
    let started = Instant::now();
    loop {
        let listed = schedules(k).await;
        let schedule = listed["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone();
        if schedule["last"] != *before {
            return schedule;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not sent: {schedule}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_report_is_mailed_over_starttls_with_its_file_and_failures_are_reported() {
    let relay = Relay::start().await;
    let mut setup = Setup::new(&["finance"]);
    setup.mail = Some(keel::MailConfig::Smtp(keel::SmtpConfig {
        host: "localhost".to_owned(),
        port: relay.port,
        from: "Keel <keel@example.com>".to_owned(),
        credentials: None,
        extra_roots_pem: Some(relay.cert_pem.clone().into_bytes()),
    }));
    let k = TestKernel::start(setup).await;
    let f = "/api/demo/finance";
    k.post(&format!("{f}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let lines = json!([{ "account": "1100", "debit": "10000.00" }, { "account": "3000", "credit": "10000.00" }]);
    k.post(
        &format!("{f}/entries"),
        json!({ "date": "2026-01-10", "memo": "Capital", "lines": lines }),
    )
    .await
    .expect(201);
    let definition = json!({
        "title": "Movements by account",
        "source": "finance/entry-lines",
        "group_by": ["account"],
        "aggregates": [{ "name": "debits", "op": "sum", "field": "debit" }, { "name": "credits", "op": "sum", "field": "credit" }],
    });
    k.send("PUT", &format!("{REPORTS}/movements"), Some(definition)).await.expect(201);

    // Mondays at 07:00 in Paris, to the controller, as a workbook.
    let weekly = json!({
        "cron": "0 7 * * 1",
        "time_zone": "Europe/Paris",
        "email": { "to": ["cfo@example.com"], "subject": "Weekly movements" },
        "notify": ["admin@example.com"],
    });
    let path = format!("{REPORTS}/movements/schedules/monday-cfo");
    let saved = k.send("PUT", &path, Some(weekly)).await.expect(201).clone();
    assert_eq!(
        (saved["owner"].as_str(), saved["send"]["email"]["format"].as_str()),
        (Some("admin"), Some("xlsx"))
    );
    let bad = json!({ "cron": "0 7 * *", "email": { "to": ["not an address"] } });
    let refused = k.send("PUT", &format!("{REPORTS}/movements/schedules/broken"), Some(bad)).await;
    assert!(refused.expect_problem(422, "invalid").contains("cron"));
    let bad = json!({ "cron": "0 7 * * 1", "email": { "to": ["not an address"] } });
    let refused = k.send("PUT", &format!("{REPORTS}/movements/schedules/broken"), Some(bad)).await;
    assert!(refused.expect_problem(422, "invalid").contains("not an email address"));
    let often = json!({ "cron": "*/5 * * * *", "email": { "to": ["cfo@example.com"] } });
    let refused = k.send("PUT", &format!("{REPORTS}/movements/schedules/often"), Some(often)).await;
    assert!(refused.expect_problem(422, "invalid").contains("more often than every 15 minutes"));

    k.post(&format!("{path}/send-now"), json!({})).await.expect(202);
    let done = sent(&k, "monday-cfo", &Value::Null).await;
    assert_eq!(done["last"]["ok"], true, "{done}");
    let mail = relay.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, ["cfo@example.com"]);
    assert!(mail[0].data.contains("Subject: Weekly movements"), "{}", mail[0].data);
    {
        use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
        let bytes = attachment(&mail[0].data, "movements.xlsx");
        let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("Movements by account").unwrap();
        assert_eq!(sheet.get_value((0, 0)), Some(&Data::String("account".to_owned())));
        assert_eq!(sheet.get_value((1, 1)), Some(&Data::Float(10000.0)));
    }
    // Sent besides the timetable: the next Monday at 07:00 in Paris still
    // comes.
    assert_eq!(done["slot"], saved["slot"], "{done}");
    assert!(
        done["next"]
            .as_str()
            .is_some_and(|n| n.contains("T07:00:00+0") && n.ends_with("[Europe/Paris]")),
        "{done}"
    );
    assert!(done["slot"].as_i64().unwrap() > done["last"]["slot"].as_i64().unwrap());
    assert!(k.audit_actions("demo", "report.send").await.contains(&"report.send".to_owned()));

    // A recipient the relay refuses: retried, then given up on, and the
    // administrator told.
    let doomed = json!({
        "cron": "0 7 1 * *",
        "email": { "to": ["nobody@example.com"], "format": "csv" },
        "notify": ["admin@example.com"],
    });
    let path = format!("{REPORTS}/movements/schedules/doomed");
    k.send("PUT", &path, Some(doomed)).await.expect(201);
    k.post(&format!("{path}/send-now"), json!({})).await.expect(202);
    let failed = sent(&k, "doomed", &Value::Null).await;
    assert_eq!(
        (failed["last"]["ok"].as_bool(), failed["last"]["attempts"].as_u64()),
        (Some(false), Some(3)),
        "{failed}"
    );
    assert!(failed["last"]["error"].as_str().unwrap().contains("550"), "{failed}");
    let actions = k.audit_actions("demo", "report.send").await;
    assert_eq!(actions.iter().filter(|a| *a == "report.send-retry").count(), 2, "{actions:?}");
    assert!(actions.contains(&"report.send-fail".to_owned()));
    let notice = relay
        .received()
        .into_iter()
        .find(|m| m.to == ["admin@example.com"])
        .expect("the administrator is told");
    assert!(
        notice.data.contains("Subject: Keel: report movements could not be sent"),
        "{}",
        notice.data
    );
    assert!(notice.data.contains("550"), "{}", notice.data);

    // Deleting the report deletes its schedules.
    k.send("DELETE", &format!("{REPORTS}/movements"), None).await.expect(204);
    let gone = k.get(&format!("{REPORTS}/movements/schedules")).await;
    gone.expect_problem(404, "not-found");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_report_can_go_to_a_signed_webhook_instead() {
    use axum::http::HeaderMap;
    type Posts = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;
    let got: Posts = Arc::default();
    let store = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/reports",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let store = Arc::clone(&store);
            async move {
                store.lock().unwrap().push((headers, body.to_vec()));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut setup = Setup::new(&["finance"]);
    setup.webhook_allow_hosts = vec!["127.0.0.1".to_owned()];
    let k = TestKernel::start(setup).await;
    let definition =
        json!({ "title": "Chart", "source": "finance/accounts", "columns": ["code", "type"] });
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    k.send("PUT", &format!("{REPORTS}/chart"), Some(definition)).await.expect(201);
    let hook =
        json!({ "cron": "0 6 * * *", "webhook": { "url": format!("http://{addr}/reports") } });
    let path = format!("{REPORTS}/chart/schedules/nightly");
    let saved = k.send("PUT", &path, Some(hook)).await.expect(201).clone();
    let secret = saved["secret"].as_str().expect("the secret, shown once").to_owned();
    let listed = k.get(&format!("{REPORTS}/chart/schedules")).await.expect(200).clone();
    assert!(listed["schedules"][0]["send"]["webhook"].get("secret").is_none(), "{listed}");
    // Sending data to an endpoint takes what webhooks take.
    let role = json!({ "permissions": ["keel.reports.manage", "finance.reports.read"] });
    k.send("PUT", "/admin/tenants/demo/roles/report-designer", Some(role)).await.expect(200);
    let designer = k.user_with_roles("desi", "demo", &["report-designer"]).await;
    let hook =
        json!({ "cron": "0 6 * * *", "webhook": { "url": format!("http://{addr}/reports") } });
    let refused = k
        .send_as(Some(&designer), "PUT", &format!("{REPORTS}/chart/schedules/theirs"), Some(hook))
        .await;
    assert!(refused.expect_problem(403, "forbidden").contains("keel.webhooks.manage"));
    // No mail relay: an email schedule is refused, saying how to get one.
    let mail = json!({ "cron": "0 6 * * *", "email": { "to": ["cfo@example.com"] } });
    let refused = k.send("PUT", &format!("{REPORTS}/chart/schedules/mail"), Some(mail)).await;
    assert!(refused.expect_problem(422, "invalid").contains("--smtp-relay"));

    k.post(&format!("{path}/send-now"), json!({})).await.expect(202);
    let started = Instant::now();
    while got.lock().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "nothing posted");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (headers, body) = got.lock().unwrap()[0].clone();
    let signature = headers["keel-signature"].to_str().unwrap();
    // Checked as a receiver would, at the time it was signed.
    let signed_at = signature.split(',').find_map(|part| part.strip_prefix("t=")).unwrap();
    let now: i64 = signed_at.parse().unwrap();
    keel_webhooks::verify(&secret, signature, &body, now, 300).expect("signed with the secret");
    let posted: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (posted["report"].as_str(), posted["schedule"].as_str()),
        (Some("chart"), Some("nightly"))
    );
    let rows = posted["answer"]["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["code"] == "1100"), "{posted}");
    k.stop().await;
}
