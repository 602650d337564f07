//! Tampering at scale: 10,000 generated changes made straight into the
//! store of a kernel (around it, as someone with the data directory
//! could), each undone after it is checked. Every one must be detected by
//! audit verification, and named: the entry at fault, or the record.

use keel_storage::{Lane, Storage, Stored};
use keel_tests::{Setup, TestKernel};
use keel_types::TenantId;
use serde_json::json;

const N_TAMPERS: usize = 10_000;
const TENANT_CHAIN: &str = "tenant/demo";
const PLATFORM_CHAIN: &str = "platform";
const TENANT_HEADS: &str = "heads/tenant/demo";

/// A small, seeded generator (xorshift64*): the same tampering every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One raw write around the kernel.
#[derive(Clone)]
enum Write {
    Log { chain: &'static str, seq: u64, bytes: Option<Vec<u8>> },
    Raw { table: &'static str, key: Vec<u8>, value: Option<Vec<u8>> },
}

/// A tamper: what it writes, how to undo it, which chain's verification
/// must catch it, and what that verification must name.
struct Tamper {
    what: String,
    writes: Vec<Write>,
    undo: Vec<Write>,
    platform: bool,
    names: Names,
}

enum Names {
    /// The entry at this position.
    Entry(u64),
    /// These words in the reason.
    Words(String),
}

fn apply(storage: &Storage, writes: &[Write]) {
    let lanes = [Lane::Platform, Lane::Tenant(TenantId::new("demo").unwrap())];
    let mut txn = storage.write(&lanes).unwrap();
    for write in writes {
        match write {
            Write::Log { chain, seq, bytes } => txn.tamper_log(chain, *seq, bytes.as_deref()),
            Write::Raw { table, key, value } => txn.tamper_raw(table, key, value.as_deref()),
        }
        .unwrap();
    }
    txn.commit().unwrap();
}

/// What the store held before any tampering.
struct Pristine {
    tenant_log: Vec<(u64, Vec<u8>)>,
    platform_log: Vec<(u64, Vec<u8>)>,
    heads: Vec<(u64, Vec<u8>)>,
    tenant_items: Vec<(&'static str, Vec<u8>, Vec<u8>, String)>,
    platform_items: Vec<(&'static str, Vec<u8>, Vec<u8>, String)>,
}

/// Each item of `lane` as `(table, raw key, value, name verify gives it)`.
fn items(storage: &Storage, lane: &Lane) -> Vec<(&'static str, Vec<u8>, Vec<u8>, String)> {
    let txn = storage.read().unwrap();
    let (items, more) = txn.inventory(lane, None, 100_000).unwrap();
    assert!(more.is_none());
    let tenant = "demo";
    items
        .into_iter()
        .map(|item| match item {
            Stored::Document { plugin, collection, key, value } => (
                "docs",
                format!("{tenant}\0{plugin}\0{collection}\0{key}").into_bytes(),
                value,
                format!("document {plugin}/{collection}/{key}"),
            ),
            Stored::IndexEntry { plugin, collection, index, value, key } => (
                "index",
                format!("{tenant}\0{plugin}\0{collection}\0{index}\0{value}\0{key}").into_bytes(),
                Vec::new(),
                format!("index {index}"),
            ),
            Stored::Sealed { name, value } => match name.strip_prefix("catalog:") {
                Some(key) => ("catalog", key.as_bytes().to_vec(), value, name.clone()),
                None => {
                    let (plugin, sequence) =
                        name.strip_prefix("sequence:").unwrap().split_once('/').unwrap();
                    let key = format!("{tenant}\0{plugin}\0{sequence}\0").into_bytes();
                    ("sequences", key, value, name.clone())
                }
            },
            Stored::CatalogIndex { key, value } => ("catalog", key.as_bytes().to_vec(), value, key),
            Stored::Malformed { key } => panic!("a pristine store holds a malformed key {key:?}"),
        })
        .collect()
}

fn log(storage: &Storage, chain: &str) -> Vec<(u64, Vec<u8>)> {
    storage.read().unwrap().log_scan(chain, 0, 100_000).unwrap()
}

/// A byte of `bytes` replaced by another.
fn flip(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut edited = bytes.to_vec();
    let at = rng.below(edited.len());
    let by = u8::try_from(1 + rng.below(255)).unwrap();
    edited[at] = edited[at].wrapping_add(by);
    edited
}

fn generate(rng: &mut Rng, p: &Pristine, n: u64) -> Tamper {
    let raw =
        |table, key: &[u8], value: Option<Vec<u8>>| Write::Raw { table, key: key.to_vec(), value };
    let chain_of = |rng: &mut Rng| {
        if rng.below(3) == 0 {
            (PLATFORM_CHAIN, &p.platform_log, true)
        } else {
            (TENANT_CHAIN, &p.tenant_log, false)
        }
    };
    match rng.below(12) {
        // A byte of an entry edited.
        0 | 1 => {
            let (chain, entries, platform) = chain_of(rng);
            let (seq, bytes) = rng.pick(entries).clone();
            Tamper {
                what: format!("edit a byte of {chain} entry {seq}"),
                writes: vec![Write::Log { chain, seq, bytes: Some(flip(rng, &bytes)) }],
                undo: vec![Write::Log { chain, seq, bytes: Some(bytes) }],
                platform,
                names: Names::Entry(seq),
            }
        }
        // An entry deleted (not the last: that is a truncation).
        2 => {
            let (chain, entries, platform) = chain_of(rng);
            let (seq, bytes) = rng.pick(&entries[..entries.len() - 1]).clone();
            Tamper {
                what: format!("delete {chain} entry {seq}"),
                writes: vec![Write::Log { chain, seq, bytes: None }],
                undo: vec![Write::Log { chain, seq, bytes: Some(bytes) }],
                platform,
                names: Names::Entry(seq),
            }
        }
        // Two entries swapped.
        3 => {
            let (chain, entries, platform) = chain_of(rng);
            let (a, b) = (rng.below(entries.len()), rng.below(entries.len() - 1));
            let b = if b >= a { b + 1 } else { b };
            let ((sa, ba), (sb, bb)) = (entries[a.min(b)].clone(), entries[a.max(b)].clone());
            Tamper {
                what: format!("swap {chain} entries {sa} and {sb}"),
                writes: vec![
                    Write::Log { chain, seq: sa, bytes: Some(bb.clone()) },
                    Write::Log { chain, seq: sb, bytes: Some(ba.clone()) },
                ],
                undo: vec![
                    Write::Log { chain, seq: sa, bytes: Some(ba) },
                    Write::Log { chain, seq: sb, bytes: Some(bb) },
                ],
                platform,
                names: Names::Entry(sa),
            }
        }
        // The tenant chain cut short, against its kept head.
        4 => {
            let k = 1 + rng.below(p.tenant_log.len() - 1);
            let cut = &p.tenant_log[p.tenant_log.len() - k..];
            Tamper {
                what: format!("truncate {TENANT_CHAIN} by {k}"),
                writes: cut
                    .iter()
                    .map(|(seq, _)| Write::Log { chain: TENANT_CHAIN, seq: *seq, bytes: None })
                    .collect(),
                undo: cut
                    .iter()
                    .map(|(seq, b)| Write::Log {
                        chain: TENANT_CHAIN,
                        seq: *seq,
                        bytes: Some(b.clone()),
                    })
                    .collect(),
                platform: false,
                names: Names::Words("truncated".to_owned()),
            }
        }
        // A kept head edited. (Removing the newest kept head hides
        // nothing a head kept elsewhere does not show.)
        5 => {
            let (seq, bytes) = rng.pick(&p.heads).clone();
            Tamper {
                what: format!("edit kept head {seq}"),
                writes: vec![Write::Log {
                    chain: TENANT_HEADS,
                    seq,
                    bytes: Some(flip(rng, &bytes)),
                }],
                undo: vec![Write::Log { chain: TENANT_HEADS, seq, bytes: Some(bytes) }],
                platform: false,
                names: Names::Words("heads log was edited".to_owned()),
            }
        }
        // A record's value changed (documents, index entries, sequences,
        // catalog records of the tenant or the platform).
        6 | 7 => {
            let platform = rng.below(3) == 0;
            let items = if platform { &p.platform_items } else { &p.tenant_items };
            let (table, key, value, name) = rng.pick(items).clone();
            let edited = if table == "index" || value.is_empty() {
                // An index entry holds nothing: change what it indexes.
                let mut moved = key.clone();
                moved.extend_from_slice(b"-forged");
                return Tamper {
                    what: format!("move {name} entry"),
                    writes: vec![raw(table, &key, None), raw(table, &moved, Some(Vec::new()))],
                    undo: vec![raw(table, &moved, None), raw(table, &key, Some(Vec::new()))],
                    platform,
                    names: Names::Words(name),
                };
            } else {
                flip(rng, &value)
            };
            Tamper {
                what: format!("edit {name}"),
                writes: vec![raw(table, &key, Some(edited))],
                undo: vec![raw(table, &key, Some(value))],
                platform,
                names: Names::Words(name),
            }
        }
        // A record deleted.
        8 => {
            let platform = rng.below(3) == 0;
            let items = if platform { &p.platform_items } else { &p.tenant_items };
            let (table, key, value, name) = rng.pick(items).clone();
            Tamper {
                what: format!("delete {name}"),
                writes: vec![raw(table, &key, None)],
                undo: vec![raw(table, &key, Some(value))],
                // The platform's index of token digests is checked from
                // the tokens, which are the tenant's.
                platform: platform && !name.starts_with("apitoken-digest/"),
                names: Names::Words(name),
            }
        }
        // A record inserted: a document, a membership, a session, a
        // sequence, an index entry, a token digest, a malformed key.
        _ => {
            let (table, key, value, platform, name): (&str, String, Vec<u8>, bool, String) =
                match rng.below(7) {
                    0 => (
                        "docs",
                        format!("demo\0finance\0accounts\0forged{n}"),
                        br#"{"code":"9","name":"Forged","type":"asset","currency":"EUR"}"#.to_vec(),
                        false,
                        format!("document finance/accounts/forged{n}"),
                    ),
                    1 => (
                        "catalog",
                        format!("member/demo/mallory{n}"),
                        br#"{"roles":["admin"]}"#.to_vec(),
                        false,
                        format!("catalog:member/demo/mallory{n}"),
                    ),
                    2 => (
                        "catalog",
                        format!("session/{n:064}"),
                        br#"{"user":"admin","expires_at":9999999999,"generation":0,"user_nonce":""}"#.to_vec(),
                        true,
                        format!("catalog:session/{n:064}"),
                    ),
                    3 => (
                        "sequences",
                        format!("demo\0finance\0forged{n}\0"),
                        7u64.to_be_bytes().to_vec(),
                        false,
                        format!("sequence:finance/forged{n}"),
                    ),
                    4 => (
                        "index",
                        format!("demo\0finance\0entries\0by-date\02026-01-0{}\0forged{n}", n % 9 + 1),
                        Vec::new(),
                        false,
                        "index by-date".to_owned(),
                    ),
                    5 => {
                        let token = p.platform_items.iter().find(|i| i.3.starts_with("apitoken-digest/"));
                        let value = token.map_or_else(|| b"apitoken/demo/x".to_vec(), |t| t.2.clone());
                        ("catalog", format!("apitoken-digest/{n:064}"), value, true, format!("apitoken-digest/{n:064}"))
                    }
                    _ => (
                        "docs",
                        format!("demo\0finance{n}"),
                        b"{}".to_vec(),
                        false,
                        "no kernel write makes".to_owned(),
                    ),
                };
            let key = key.into_bytes();
            Tamper {
                what: format!("insert {name}"),
                writes: vec![raw(table, &key, Some(value))],
                undo: vec![raw(table, &key, None)],
                platform,
                names: Names::Words(name),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tampers_are_each_detected_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(dir.path(), Setup::new(&["finance"])).await;
    k.post("/api/demo/finance/chart-templates/starter", json!({ "currency": "EUR" }))
        .await
        .expect(201);
    for (day, amount) in [(1, "10"), (2, "25.50"), (2, "7")] {
        let entry = json!({ "date": format!("2026-03-0{day}"), "lines": [{ "account": "1100", "debit": amount }, { "account": "4000", "credit": amount }] });
        k.post("/api/demo/finance/entries", entry).await.expect(201);
    }
    k.user_with_roles("clerk", "demo", &["bookkeeper"]).await;
    let token = json!({ "name": "bank feed", "roles": ["bookkeeper"], "expires_in_days": 30 });
    k.post("/admin/tenants/demo/tokens", token).await.expect(201);
    let head = k.post("/admin/tenants/demo/audit/heads", json!(null)).await.expect(200).clone();
    let (n, head) =
        (head["statement"]["entries"].as_u64().unwrap(), head["statement"]["head"].clone());
    let tenant_verify =
        format!("/admin/tenants/demo/audit/verify?entries={n}&head={}", head.as_str().unwrap());
    let verdict = |platform: bool| {
        let url = if platform { "/admin/audit/verify".to_owned() } else { tenant_verify.clone() };
        let k = &k;
        async move { k.get(&url).await.expect(200).clone() }
    };
    assert_eq!(verdict(false).await["ok"], true, "the pristine tenant chain verifies");
    assert_eq!(verdict(true).await["ok"], true, "the pristine platform chain verifies");

    let storage = std::sync::Arc::clone(k.host().storage());
    let tenant = Lane::Tenant(TenantId::new("demo").unwrap());
    let pristine = Pristine {
        tenant_log: log(&storage, TENANT_CHAIN),
        platform_log: log(&storage, PLATFORM_CHAIN),
        heads: log(&storage, TENANT_HEADS),
        tenant_items: items(&storage, &tenant),
        // Not the records that let the administrator in to verify: with
        // them changed, the kernel refuses the administrator (fails closed)
        // before any verification.
        platform_items: items(&storage, &Lane::Platform)
            .into_iter()
            .filter(|(_, _, value, name)| {
                let admins = value.windows(14).any(|w| w == br#""user":"admin""#.as_slice());
                !(name == "catalog:user/admin" || name.ends_with("/~platform/admin") || admins)
            })
            .collect(),
    };
    assert!(pristine.tenant_log.len() > 20 && pristine.platform_log.len() > 5);
    for kind in ["docs", "index", "sequences", "catalog"] {
        assert!(pristine.tenant_items.iter().any(|i| i.0 == kind), "the tenant holds {kind}");
    }

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..N_TAMPERS {
        let tamper = generate(&mut rng, &pristine, i as u64);
        apply(&storage, &tamper.writes);
        let url = if tamper.platform { "/admin/audit/verify" } else { tenant_verify.as_str() };
        let reply = k.get(url).await;
        apply(&storage, &tamper.undo);
        assert_eq!(reply.status, 200, "tamper {i} ({}): {}", tamper.what, reply.body);
        let found = reply.body;
        assert_eq!(found["ok"], false, "tamper {i} ({}) went unnoticed", tamper.what);
        let reason = found["reason"].as_str().unwrap_or_default();
        match &tamper.names {
            Names::Entry(seq) => assert_eq!(
                found["broken_at"].as_u64(),
                Some(*seq),
                "tamper {i} ({}) named elsewhere: {found}",
                tamper.what
            ),
            Names::Words(words) => assert!(
                reason.contains(words.as_str()),
                "tamper {i} ({}) not named: {found}",
                tamper.what
            ),
        }
        let kind = tamper.what.split(' ').take(2).collect::<Vec<_>>().join(" ");
        *by_kind.entry(kind).or_default() += 1;
        if i % 1_000 == 999 {
            assert_eq!(verdict(false).await["ok"], true, "undone by tamper {i}");
            assert_eq!(verdict(true).await["ok"], true, "undone by tamper {i}");
        }
    }
    assert_eq!(
        verdict(false).await["ok"],
        true,
        "every tamper was undone: {:?}",
        verdict(false).await
    );
    assert_eq!(verdict(true).await["ok"], true);
    assert!(by_kind.len() >= 10, "every kind of tamper was tried: {by_kind:?}");
    drop(storage);
    k.stop().await;
}
