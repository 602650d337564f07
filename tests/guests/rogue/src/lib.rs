//! A hostile plugin used by the system tests. Every operation misbehaves in
//! one way; the kernel must fail that call only and keep serving.

use keel_sdk::{Collection, Error, Plugin, Range, Request, Response, Result};
use serde_json::{Value, json};

const NOTES: Collection<Value> = Collection::new("notes");
const ACCOUNTS: Collection<Value> = Collection::new("accounts");
const SALARIES: Collection<Value> = Collection::new("salaries");

struct Rogue;

impl Plugin for Rogue {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        match operation {
            "trap" => panic!("rogue plugin panics on purpose"),
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![7u8; 1 << 20]));
                }
            }
            "hold" | "hold-reading" => {
                // Fills `mib` MiB, and holds it for `ms` milliseconds
                // (busy: plugins cannot sleep).
                let number = |name: &str| -> u64 {
                    request.query(name).and_then(|n| n.parse().ok()).unwrap_or(0)
                };
                let held = std::hint::black_box(vec![7u8; (number("mib") as usize) << 20]);
                let started = std::time::Instant::now();
                while started.elapsed() < std::time::Duration::from_millis(number("ms")) {
                    std::hint::spin_loop();
                }
                Response::ok(&json!({ "held_mib": held.len() >> 20 }))
            }
            "log-flood" => {
                // 300 lines of an 8 MiB message with 10,000 fields each:
                // the kernel keeps 256 lines, 4 KiB of each, 32 fields.
                let message = "m".repeat(8 << 20);
                let fields: Vec<(String, String)> =
                    (0..10_000).map(|n| (format!("k{n}"), "v".repeat(512))).collect();
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                for _ in 0..300 {
                    keel_sdk::log::emit(keel_sdk::log::Level::Warn, &message, &fields);
                }
                Response::ok(&json!({ "emitted": 300 }))
            }
            "recurse" => Response::ok(&recurse(std::hint::black_box(1))),
            "long-error" => {
                // An error message of `bytes` bytes, of control characters
                // if `control` (each one six bytes once escaped in JSON).
                let body: serde_json::Value = request.json()?;
                let bytes = body["bytes"].as_u64().unwrap_or(0) as usize;
                let unit = if body["control"] == json!(true) { '\u{1}' } else { 'x' };
                Err(Error::invalid(std::iter::repeat_n(unit, bytes).collect::<String>()))
            }
            "escape" => escape(request.param("key")?),
            "write-then-fail" => {
                NOTES.put(request.param("key")?, &json!({ "written": true }))?;
                Err(Error::invalid("failing after a write"))
            }
            "forget" => {
                NOTES.delete(request.param("key")?)?;
                Response::no_content()
            }
            "delete-then-fail" => {
                // Whether or not the delete works, the call fails after it.
                let deleted = NOTES.delete(request.param("key")?);
                Err(Error::invalid(format!("failing after a delete ({})", deleted.is_ok())))
            }
            "write-then-trap" => {
                NOTES.put(request.param("key")?, &json!({ "written": true }))?;
                panic!("trapping after a write");
            }
            "write-in-get" => match NOTES.put(request.param("key")?, &json!({ "written": true })) {
                Ok(()) => Response::ok(&json!({ "wrote": true })),
                Err(err) => Err(err),
            },
            "note" => match NOTES.get(request.param("key")?)? {
                Some(note) => Response::ok(&note),
                None => Err(Error::not_found("no such note")),
            },
            "bad-status" => Response::json(500, &json!({ "pretending": "to fail" })),
            "write-bad-status" => {
                NOTES.put(request.param("key")?, &json!({ "written": true }))?;
                Response::json(500, &json!({ "pretending": "to fail" }))
            }
            "heavy" => {
                // Heavy but well-behaved: `records` notes of `bytes` each.
                let number = |name: &str, default: usize| -> Result<usize> {
                    request.query(name).map_or(Ok(default), |text| {
                        text.parse().map_err(|_| Error::bad_request(format!("{name} is a number")))
                    })
                };
                let (records, bytes) = (number("records", 1000)?, number("bytes", 200)?);
                let pad = "x".repeat(bytes);
                for n in 0..records {
                    NOTES.put(&format!("heavy-{n:06}"), &json!({ "n": n, "pad": pad }))?;
                }
                Response::ok(&json!({ "written": records }))
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Response::no_content()
            }
            "sandbox" => sandbox(),
            "author" => {
                let note = json!({ "created_by": keel_sdk::context::caller() });
                NOTES.put(request.param("key")?, &note)?;
                Response::created(&note)
            }
            "approve" => {
                let key = request.param("key")?;
                let mut note = NOTES.get(key)?.ok_or_else(|| Error::not_found("no such note"))?;
                note["approved_by"] = json!(keel_sdk::context::caller());
                NOTES.put(key, &note)?;
                Response::ok(&note)
            }
            "can" => {
                let permission = request.param("permission")?;
                let granted = keel_sdk::context::has_permission(permission);
                Response::ok(&json!({ "permission": permission, "granted": granted }))
            }
            "audit" => {
                // Appends the event in the body; `"fail": true` then fails the call.
                let body: serde_json::Value = request.json()?;
                let text = |name: &str| body[name].as_str().map(str::to_owned);
                let (collection, key) = (text("collection"), text("key"));
                keel_sdk::audit::record(keel_sdk::audit::Event {
                    action: &text("action").unwrap_or_default(),
                    collection: collection.as_deref(),
                    key: key.as_deref(),
                    detail: &text("detail").unwrap_or_default(),
                })?;
                if body["fail"] == json!(true) {
                    return Err(Error::invalid("failing after the audit event, on purpose"));
                }
                Response::created(&json!({ "recorded": true }))
            }
            "audit-in-get" => {
                let event = keel_sdk::audit::Event {
                    action: "read",
                    detail: "in a GET",
                    ..Default::default()
                };
                keel_sdk::audit::record(event)?;
                Response::ok(&json!({ "recorded": true }))
            }
            "salary-put" => {
                SALARIES.put(request.param("key")?, &request.json::<serde_json::Value>()?)?;
                Response::ok(&json!({ "stored": true }))
            }
            "salary-get" => match SALARIES.get(request.param("key")?)? {
                Some(salary) => Response::ok(&salary),
                None => Err(Error::not_found("no such salary")),
            },
            "salary-leak" => {
                let salary = SALARIES.get(request.param("key")?)?;
                Err(Error::invalid(format!("refusing, but quoting it: {salary:?}")))
            }
            "salaries" => {
                // One page, or with `?all` every page.
                let keys: Vec<String> = if request.query("all").is_some() {
                    SALARIES
                        .scan_all(&keel_sdk::Range::all())?
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect()
                } else {
                    let page = SALARIES.scan(&keel_sdk::Range::all(), None, 100)?;
                    page.items.into_iter().map(|(key, _)| key).collect()
                };
                Response::ok(&json!({ "keys": keys }))
            }
            other => Err(Error::unknown_operation(other)),
        }
    }
}

#[expect(unconditional_recursion, reason = "exhausting the stack is the point")]
fn recurse(depth: u64) -> u64 {
    let pad = std::hint::black_box([depth; 64]);
    recurse(depth + 1).wrapping_add(pad[(depth % 64) as usize])
}

/// Tries every way of naming data outside this plugin's namespace and
/// reports what each attempt returned.
fn escape(key: &str) -> Result<Response> {
    let attempts: Vec<(&str, Collection<Value>)> = vec![
        ("own accounts collection", ACCOUNTS),
        ("undeclared collection", Collection::new("entries")),
        ("path traversal", Collection::new("../finance/accounts")),
        ("NUL separator", Collection::new("accounts\0finance")),
        ("other plugin prefix", Collection::new("finance\0accounts")),
    ];
    let mut report = serde_json::Map::new();
    for (label, collection) in attempts {
        let outcome = match collection.get(key) {
            Ok(Some(doc)) => json!({ "found": doc }),
            Ok(None) => json!("absent"),
            Err(err) => json!({ "error": err.to_string() }),
        };
        report.insert(label.to_owned(), outcome);
    }
    let scan = ACCOUNTS.scan(&Range::all(), None, 100).map(|page| page.items.len());
    report.insert("own accounts scanned".to_owned(), json!(scan.map_err(|e| e.to_string())));
    let key_with_nul = ACCOUNTS.get(&format!("{key}\0"));
    report.insert(
        "key with NUL".to_owned(),
        json!(format!("{:?}", key_with_nul.map(|d| d.is_some()))),
    );
    Response::ok(&Value::Object(report))
}

/// Reports what WASI gives the plugin: no files, no environment.
#[expect(
    clippy::disallowed_methods,
    reason = "a hostile guest reads the system time, to show it gets the kernel's clock"
)]
fn sandbox() -> Result<Response> {
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    Response::ok(&json!({
        "env_vars": std::env::vars().count(),
        "read_etc_passwd": std::fs::read_to_string("/etc/passwd").is_ok(),
        "read_dir_root": std::fs::read_dir("/").is_ok(),
        "args": std::env::args().count(),
        "wall_clock_s": wall.map_or(0, |since| since.as_secs()),
        "kernel_clock_s": keel_sdk::context::now_seconds(),
    }))
}

keel_sdk::export_plugin!(Rogue);
