use keel_types::schema::{CollectionDef, FieldPath, IndexDef};
use keel_types::{Limits, PluginId, TenantId};

use super::*;

fn open() -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("keel.redb"), Limits::default()).unwrap();
    (dir, storage)
}

fn tenant(id: &str) -> Lane {
    Lane::Tenant(TenantId::new(id).unwrap())
}

/// The lane of the `demo` tenant, which most tests write in.
fn demo() -> [Lane; 1] {
    [tenant("demo")]
}

fn ns(tenant: &str, plugin: &str) -> Namespace {
    Namespace::new(TenantId::new(tenant).unwrap(), PluginId::new(plugin).unwrap())
}

fn entries() -> CollectionDef {
    CollectionDef {
        name: "entries".to_owned(),
        indexes: vec![
            IndexDef { name: "by-date".to_owned(), field: FieldPath::parse("date").unwrap() },
            IndexDef {
                name: "by-account".to_owned(),
                field: FieldPath::parse("lines[].account").unwrap(),
            },
        ],
        sensitive: false,
    }
}

fn doc(date: &str, accounts: &[&str]) -> String {
    let lines: Vec<_> = accounts.iter().map(|a| serde_json::json!({ "account": a })).collect();
    serde_json::json!({ "date": date, "lines": lines }).to_string()
}

/// The demo tenant's log, which tests append to.
const LOG: &str = "tenant/demo";

/// Commits with a log entry, as every changing transaction must.
fn commit_logged(txn: WriteTxn) {
    commit_logged_in(txn, LOG);
}

fn commit_logged_in(mut txn: WriteTxn, chain: &str) {
    let next = txn.log_last(chain).unwrap().map_or(1, |(seq, _)| seq + 1);
    append(&mut txn, chain, next);
    txn.commit().unwrap();
}

/// Appends an entry at `seq` of `chain` that seals what changed, as the
/// audit trail's append does.
fn append(txn: &mut WriteTxn, chain: &str, seq: u64) {
    txn.take_unsealed(chain).unwrap();
    txn.log_append(chain, seq, b"{}").unwrap();
}

fn keys(page: &Page) -> Vec<&str> {
    page.entries.iter().map(|e| e.key.as_str()).collect()
}

#[test]
fn namespaces_never_see_each_other() {
    let (_dir, storage) = open();
    let coll = entries();
    let mut txn = storage.write(&[tenant("t1"), tenant("t10")]).unwrap();
    // Tenant "t1" must not see "t10"'s data, nor a plugin another plugin's.
    for (tenant, plugin) in
        [("t1", "finance"), ("t10", "finance"), ("t1", "financex"), ("t1", "fin")]
    {
        txn.put(&ns(tenant, plugin), &coll, "k", &doc("2026-01-01", &[tenant])).unwrap();
    }
    commit_logged_in(txn, "tenant/t1");
    let read = storage.read().unwrap();
    let page = read.scan(&ns("t1", "finance"), "entries", &KeyRange::default(), None, 100).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert!(page.entries[0].value.contains("\"t1\""));
    let page = read
        .lookup(&ns("t1", "finance"), "entries", "by-account", &KeyRange::default(), None, 100)
        .unwrap();
    assert_eq!(page.entries.len(), 1);
    assert!(read.get(&ns("t2", "finance"), "entries", "k").unwrap().is_none());
}

#[test]
fn scans_respect_ranges_and_cursors() {
    let (_dir, storage) = open();
    let coll = entries();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    for key in ["a1", "a2", "a3", "b1", "b2", "c1"] {
        txn.insert(&ns, &coll, key, "{}").unwrap();
    }
    commit_logged(txn);
    let read = storage.read().unwrap();
    let range = |prefix: Option<&str>, start: Option<&str>, end: Option<&str>| KeyRange {
        prefix: prefix.map(str::to_owned),
        start: start.map(str::to_owned),
        end: end.map(str::to_owned),
    };
    let all = read.scan(&ns, "entries", &range(None, None, None), None, 100).unwrap();
    assert_eq!(keys(&all), ["a1", "a2", "a3", "b1", "b2", "c1"]);
    assert_eq!(all.cursor, None);
    let b = read.scan(&ns, "entries", &range(Some("b"), None, None), None, 100).unwrap();
    assert_eq!(keys(&b), ["b1", "b2"]);
    let mid = read.scan(&ns, "entries", &range(None, Some("a2"), Some("b1")), None, 100).unwrap();
    assert_eq!(keys(&mid), ["a2", "a3", "b1"]);

    let first = read.scan(&ns, "entries", &range(None, None, None), None, 4).unwrap();
    assert_eq!(keys(&first), ["a1", "a2", "a3", "b1"]);
    let rest =
        read.scan(&ns, "entries", &range(None, None, None), first.cursor.as_deref(), 4).unwrap();
    assert_eq!(keys(&rest), ["b2", "c1"]);
    assert_eq!(rest.cursor, None);

    let exact = read.scan(&ns, "entries", &range(None, None, None), None, 6).unwrap();
    assert_eq!(exact.cursor, None, "no cursor when the page ends exactly at the last entry");
    assert!(matches!(
        read.scan(&ns, "entries", &KeyRange::default(), Some("zz"), 4),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        read.scan(&ns, "entries", &KeyRange::default(), None, 0),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn indexes_follow_puts_and_deletes() {
    let (_dir, storage) = open();
    let coll = entries();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    txn.insert(&ns, &coll, "1", &doc("2026-01-05", &["1000", "4000"])).unwrap();
    txn.insert(&ns, &coll, "2", &doc("2026-02-01", &["1000", "2000"])).unwrap();
    txn.insert(&ns, &coll, "3", &doc("2026-03-01", &["4000"])).unwrap();
    let by = |txn: &WriteTxn, index: &str, start: &str, end: &str| {
        let range =
            KeyRange { prefix: None, start: Some(start.to_owned()), end: Some(end.to_owned()) };
        keys(&txn.lookup(&ns, "entries", index, &range, None, 100).unwrap()).join(",")
    };
    assert_eq!(by(&txn, "by-account", "1000", "1000"), "1,2");
    assert_eq!(by(&txn, "by-date", "2026-01-01", "2026-02-28"), "1,2");
    let replaced = txn.put(&ns, &coll, "1", &doc("2026-04-01", &["2000"])).unwrap();
    let parsed = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
    assert_eq!(replaced.before, Some(parsed(doc("2026-01-05", &["1000", "4000"]))));
    assert_eq!(replaced.after, Some(parsed(doc("2026-04-01", &["2000"]))));
    assert_eq!(by(&txn, "by-account", "1000", "1000"), "2");
    assert_eq!(by(&txn, "by-account", "2000", "2000"), "1,2");
    assert_eq!(by(&txn, "by-date", "2026-01-01", "2026-02-28"), "2");
    let deleted = txn.delete(&ns, &coll, "2").unwrap().unwrap();
    assert_eq!(deleted.before, Some(parsed(doc("2026-02-01", &["1000", "2000"]))));
    assert_eq!(deleted.after, None);
    assert_eq!(txn.delete(&ns, &coll, "2").unwrap(), None);
    assert_eq!(by(&txn, "by-account", "1000", "1000"), "");
    assert_eq!(by(&txn, "by-account", "0", "9"), "1,3");
}

#[test]
fn aborted_transaction_leaves_nothing() {
    let (_dir, storage) = open();
    let coll = entries();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    txn.insert(&ns, &coll, "1", &doc("2026-01-01", &["1000"])).unwrap();
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 1);
    drop(txn);
    let read = storage.read().unwrap();
    assert!(read.get(&ns, "entries", "1").unwrap().is_none());
    let idx = read.lookup(&ns, "entries", "by-account", &KeyRange::default(), None, 10).unwrap();
    assert!(idx.entries.is_empty());
    let mut txn = storage.write(&demo()).unwrap();
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 1, "aborted numbers are not used up");
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 2);
}

#[test]
fn bad_documents_and_keys_are_rejected() {
    let (_dir, storage) = open();
    let coll = entries();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    assert!(matches!(txn.put(&ns, &coll, "k", "[1]"), Err(Error::Invalid(_))));
    assert!(matches!(txn.put(&ns, &coll, "k", "{"), Err(Error::Invalid(_))));
    assert!(matches!(txn.put(&ns, &coll, "", "{}"), Err(Error::Invalid(_))));
    assert!(matches!(txn.put(&ns, &coll, &"k".repeat(513), "{}"), Err(Error::Invalid(_))));
    let big = format!("{{\"x\":\"{}\"}}", "y".repeat(Limits::default().record_bytes_max));
    assert!(matches!(txn.put(&ns, &coll, "k", &big), Err(Error::LimitExceeded(_))));
    assert!(matches!(txn.put(&ns, &coll, "k", r#"{"date":"a\u0000b"}"#), Err(Error::Invalid(_))));
    txn.insert(&ns, &coll, "k", "{}").unwrap();
    assert!(matches!(txn.insert(&ns, &coll, "k", "{}"), Err(Error::Conflict { .. })));
}

#[test]
fn committed_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.redb");
    let ns = ns("demo", "finance");
    {
        let storage = Storage::open(&path, Limits::default()).unwrap();
        let mut txn = storage.write(&demo()).unwrap();
        txn.put(&ns, &entries(), "1", "{\"a\":1}").unwrap();
        txn.catalog_put("enabled/demo/finance", b"{}").unwrap();
        commit_logged(txn);
    }
    let storage = Storage::open(&path, Limits::default()).unwrap();
    let read = storage.read().unwrap();
    assert_eq!(read.get(&ns, "entries", "1").unwrap().as_deref(), Some("{\"a\":1}"));
    assert_eq!(read.catalog_scan("enabled/demo/").unwrap().len(), 1);
}

#[test]
fn read_snapshot_cannot_write() {
    let (_dir, storage) = open();
    let mut txn = Txn::Read(storage.read().unwrap());
    assert!(matches!(txn.writable(), Err(Error::ReadOnly)));
}

#[test]
fn r3_duplicate_insert_changes_nothing() {
    let (_dir, storage) = open();
    let coll = entries();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    txn.insert(&ns, &coll, "k", &doc("2026-01-01", &["1000"])).unwrap();
    let err = txn.insert(&ns, &coll, "k", &doc("2026-02-02", &["2000"])).unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }));
    // The caller may swallow the conflict and commit: the first document must stand.
    commit_logged(txn);
    let read = storage.read().unwrap();
    assert!(read.get(&ns, "entries", "k").unwrap().unwrap().contains("2026-01-01"));
    let by_account = |account: &str| {
        let range = KeyRange {
            prefix: None,
            start: Some(account.to_owned()),
            end: Some(account.to_owned()),
        };
        read.lookup(&ns, "entries", "by-account", &range, None, 10).unwrap().entries.len()
    };
    assert_eq!((by_account("1000"), by_account("2000")), (1, 0));
}

#[test]
fn pages_end_early_at_the_byte_limit_and_continue() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { page_bytes_max: 100, ..Limits::default() };
    let storage = Storage::open(&dir.path().join("keel.redb"), limits).unwrap();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    for key in ["a", "b", "c", "d"] {
        txn.insert(&ns, &entries(), key, &format!("{{\"pad\":\"{}\"}}", "x".repeat(40))).unwrap();
    }
    commit_logged(txn);
    let read = storage.read().unwrap();
    let first = read.scan(&ns, "entries", &KeyRange::default(), None, 100).unwrap();
    assert_eq!(keys(&first), ["a", "b"], "two 50-byte documents reach the 100-byte limit");
    let rest =
        read.scan(&ns, "entries", &KeyRange::default(), first.cursor.as_deref(), 100).unwrap();
    assert_eq!(keys(&rest), ["c", "d"]);
    assert_eq!(rest.cursor, None);
}

#[test]
fn writes_per_call_are_bounded_in_bytes_and_index_entries() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { bytes_written_per_call_max: 1000, ..Limits::default() };
    let storage = Storage::open(&dir.path().join("keel.redb"), limits).unwrap();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(600));
    txn.put(&ns, &entries(), "a", &big).unwrap();
    assert!(matches!(txn.put(&ns, &entries(), "b", &big), Err(Error::LimitExceeded(_))));

    let (_dir, storage) = open();
    let mut txn = storage.write(&demo()).unwrap();
    let many: Vec<String> = (0..1100).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(matches!(
        txn.put(&ns, &entries(), "k", &doc("2026-01-01", &refs)),
        Err(Error::LimitExceeded(_))
    ));
}

#[test]
fn a_change_without_a_log_entry_is_refused_and_rolled_back() {
    let (_dir, storage) = open();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    txn.put(&ns, &entries(), "k", "{}").unwrap();
    assert!(matches!(txn.commit(), Err(Error::Unaudited(_))));
    let mut txn = storage.write(&demo()).unwrap();
    txn.catalog_put("enabled/demo/x", b"{}").unwrap();
    assert!(matches!(txn.commit(), Err(Error::Unaudited(_))));
    // A number taken from a sequence is a change the chain must seal.
    let mut txn = storage.write(&demo()).unwrap();
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 1);
    assert!(matches!(txn.commit(), Err(Error::Unaudited(_))));
    let read = storage.read().unwrap();
    assert!(read.get(&ns, "entries", "k").unwrap().is_none());
    assert!(read.catalog_get("enabled/demo/x").unwrap().is_none());
    // Writes that were refused or found nothing change nothing that needs
    // a record.
    let mut txn = storage.write(&demo()).unwrap();
    assert!(txn.delete(&ns, &entries(), "missing").unwrap().is_none());
    assert!(txn.put(&ns, &entries(), "", "{}").is_err());
    assert!(txn.put(&ns, &entries(), "k", "[1]").is_err());
    txn.commit().unwrap();
}

#[test]
fn catalog_records_and_sequences_are_sealed_by_the_next_entry_of_their_lane() {
    let (_dir, storage) = open();
    let ns = ns("demo", "finance");
    let lanes = [Lane::Platform, Lane::Tenant(TenantId::new("demo").unwrap())];
    let mut txn = storage.write(&lanes).unwrap();
    txn.catalog_put("member/demo/alice", b"{\"roles\":[]}").unwrap();
    txn.catalog_put("member/demo/alice", b"{\"roles\":[\"admin\"]}").unwrap();
    txn.next_sequence(&ns, "entries").unwrap();
    txn.catalog_put("user/alice", b"{}").unwrap();
    txn.catalog_put("apitoken-digest/abc", b"apitoken/demo/t1").unwrap();
    // The tenant's entry seals the tenant's changes, each once, as they
    // now stand; the platform's stay unsealed, and the commit is refused.
    let sealed = txn.take_unsealed(LOG).unwrap();
    let roles = b"{\"roles\":[\"admin\"]}".to_vec();
    assert_eq!(
        sealed,
        vec![
            ("catalog:member/demo/alice".to_owned(), Some(roles)),
            ("sequence:finance/entries".to_owned(), Some(1u64.to_be_bytes().to_vec())),
        ]
    );
    append(&mut txn, LOG, 1);
    let savepoint = txn.savepoint();
    assert_eq!(txn.take_unsealed("platform").unwrap().len(), 1, "the user; not the token index");
    txn.roll_back_to(savepoint).unwrap();
    let refused = txn.commit().unwrap_err().to_string();
    assert!(refused.contains("catalog:user/alice"), "{refused}");

    // A removal is sealed as such.
    let mut txn = storage.write(&lanes).unwrap();
    txn.catalog_put("user/alice", b"{}").unwrap();
    txn.catalog_remove("user/alice").unwrap();
    assert_eq!(
        txn.take_unsealed("platform").unwrap(),
        vec![("catalog:user/alice".to_owned(), None)]
    );
    append(&mut txn, "platform", 1);
    txn.commit().unwrap();
}

#[test]
fn a_lanes_inventory_names_every_item_it_holds_in_pages() {
    let (dir, storage) = open();
    let ns = ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    txn.put(&ns, &entries(), "e1", &doc("2026-01-01", &["a"])).unwrap();
    txn.next_sequence(&ns, "entries").unwrap();
    txn.catalog_put("member/demo/alice", b"{}").unwrap();
    txn.tamper_raw("docs", b"demo\0finance", Some(b"{}")).unwrap();
    commit_logged(txn);
    let mut txn = storage.write(&[Lane::Platform]).unwrap();
    txn.catalog_put("user/alice", b"{}").unwrap();
    txn.catalog_put("apitoken-digest/abc", b"apitoken/demo/t1").unwrap();
    commit_logged_in(txn, "platform");

    let read = storage.read().unwrap();
    let demo = Lane::Tenant(TenantId::new("demo").unwrap());
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = read.inventory(&demo, after.as_deref(), 2).unwrap();
        assert!(page.len() <= 2);
        items.extend(page);
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let names: Vec<String> = items
        .iter()
        .map(|item| match item {
            Stored::Document { plugin, collection, key, .. } => {
                format!("doc {plugin}/{collection}/{key}")
            }
            Stored::IndexEntry { index, value, key, .. } => format!("index {index} {value} {key}"),
            Stored::Sealed { name, .. } => name.clone(),
            Stored::CatalogIndex { key, .. } => format!("index {key}"),
            Stored::Malformed { key } => format!("malformed {key:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "catalog:member/demo/alice",
            "malformed \"demo\\0finance\"",
            "doc finance/entries/e1",
            "index by-account a e1",
            "index by-date 2026-01-01 e1",
            "sequence:finance/entries",
        ]
    );
    // The same, once redb holds it all rather than pending writes.
    drop(read);
    drop(storage);
    let storage = Storage::open(&dir.path().join("keel.redb"), Limits::default()).unwrap();
    let read = storage.read().unwrap();
    let (again, _) = read.inventory(&demo, None, 100).unwrap();
    assert_eq!(again, items);
    let (platform, more) = read.inventory(&Lane::Platform, None, 100).unwrap();
    assert_eq!(more, None);
    assert_eq!(
        platform,
        [
            Stored::CatalogIndex {
                key: "apitoken-digest/abc".to_owned(),
                value: b"apitoken/demo/t1".to_vec()
            },
            Stored::Sealed { name: "catalog:user/alice".to_owned(), value: b"{}".to_vec() },
        ]
    );
}

#[test]
fn concurrent_commits_are_each_atomic_and_durable_and_a_failure_stays_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.redb");
    let ns = ns("demo", "finance");
    const THREADS: usize = 8;
    const TXNS: usize = 40;
    {
        let storage = std::sync::Arc::new(Storage::open(&path, Limits::default()).unwrap());
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let storage = std::sync::Arc::clone(&storage);
                let ns = ns.clone();
                std::thread::spawn(move || {
                    for i in 0..TXNS {
                        let mut txn = storage.write(&demo()).unwrap();
                        txn.put(&ns, &entries(), &format!("{t}-{i}"), "{\"a\":1}").unwrap();
                        if i % 5 == 4 {
                            // No audit record: refused, and only this one.
                            assert!(matches!(txn.commit(), Err(Error::Unaudited(_))));
                        } else {
                            commit_logged(txn);
                            // Acknowledged means readable by anyone, now.
                            let read = storage.read().unwrap();
                            assert!(
                                read.get(&ns, "entries", &format!("{t}-{i}")).unwrap().is_some()
                            );
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let stats = storage.commit_stats();
        assert_eq!(stats.commits, (THREADS * TXNS * 4 / 5) as u64);
        assert!(stats.syncs >= 1 && stats.syncs <= stats.commits, "{stats:?}");
    }
    let storage = Storage::open(&path, Limits::default()).unwrap();
    let read = storage.read().unwrap();
    for t in 0..THREADS {
        for i in 0..TXNS {
            let found = read.get(&ns, "entries", &format!("{t}-{i}")).unwrap();
            assert_eq!(found.is_some(), i % 5 != 4, "{t}-{i}");
        }
    }
    assert_eq!(read.log_last(LOG).unwrap().unwrap().0, (THREADS * TXNS * 4 / 5) as u64);
}

#[test]
fn a_writer_that_gives_up_leaves_the_next_turn_what_came_before() {
    let (_dir, storage) = open();
    let ns = ns("demo", "finance");
    let by_account = |txn: &WriteTxn, account: &str| {
        let range = KeyRange { prefix: Some(account.to_owned()), ..KeyRange::default() };
        let page = txn.lookup(&ns, "entries", "by-account", &range, None, 100).unwrap();
        keys(&page).into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let mut txn = storage.write(&demo()).unwrap();
    txn.insert(&ns, &entries(), "1", &doc("2026-01-01", &["1000", "4000"])).unwrap();
    txn.insert(&ns, &entries(), "2", &doc("2026-01-02", &["1000"])).unwrap();
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 1);
    txn.catalog_put("enabled/demo/a", b"{\"name\":\"A\"}").unwrap();
    commit_logged(txn);

    // A turn that changes every table, then gives up: the next turn
    // starts from the commit before it.
    let mut txn = storage.write(&demo()).unwrap();
    txn.put(&ns, &entries(), "1", &doc("2026-02-01", &["2000"])).unwrap();
    txn.insert(&ns, &entries(), "3", &doc("2026-01-03", &["4000"])).unwrap();
    assert!(txn.delete(&ns, &entries(), "2").unwrap().is_some());
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 2);
    assert_eq!(txn.next_sequence(&ns, "other").unwrap(), 1);
    txn.catalog_put("enabled/demo/a", b"{\"name\":\"changed\"}").unwrap();
    txn.catalog_put("enabled/demo/b", b"{}").unwrap();
    assert!(txn.catalog_remove("enabled/demo/a").unwrap());
    append(&mut txn, LOG, 2);
    drop(txn);

    let mut txn = storage.write(&demo()).unwrap();
    assert_eq!(txn.get(&ns, "entries", "1").unwrap(), Some(doc("2026-01-01", &["1000", "4000"])));
    assert_eq!(txn.get(&ns, "entries", "2").unwrap(), Some(doc("2026-01-02", &["1000"])));
    assert_eq!(txn.get(&ns, "entries", "3").unwrap(), None);
    assert_eq!(by_account(&txn, "1000"), ["1", "2"]);
    assert_eq!(by_account(&txn, "2000"), Vec::<String>::new());
    assert_eq!(by_account(&txn, "4000"), ["1"]);
    assert_eq!(
        txn.catalog_get("enabled/demo/a").unwrap().as_deref(),
        Some(&b"{\"name\":\"A\"}"[..])
    );
    assert_eq!(txn.catalog_get("enabled/demo/b").unwrap(), None);
    assert_eq!(txn.log_last(LOG).unwrap().map(|(seq, _)| seq), Some(1));
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 2, "the number given up is reused");
    assert_eq!(txn.next_sequence(&ns, "other").unwrap(), 1);
    commit_logged(txn);
    assert_eq!(storage.commit_stats(), CommitStats { commits: 2, syncs: 2 });
}

#[test]
fn rolling_back_to_a_savepoint_undoes_only_what_came_after_it() {
    let (_dir, storage) = open();
    let ns = ns("demo", "procurement");
    let other = self::ns("demo", "finance");
    let mut txn = storage.write(&demo()).unwrap();
    txn.insert(&ns, &entries(), "kept", &doc("2026-01-01", &["1000"])).unwrap();
    append(&mut txn, LOG, 1);
    let savepoint = txn.savepoint();
    txn.insert(&other, &entries(), "undone", &doc("2026-01-02", &["2000"])).unwrap();
    assert_eq!(txn.next_sequence(&other, "entries").unwrap(), 1);
    append(&mut txn, LOG, 2);
    txn.roll_back_to(savepoint).unwrap();
    assert!(txn.get(&ns, "entries", "kept").unwrap().is_some());
    assert!(txn.get(&other, "entries", "undone").unwrap().is_none());
    assert_eq!(txn.log_last(LOG).unwrap().map(|(seq, _)| seq), Some(1), "the later entry undone");
    assert_eq!(txn.next_sequence(&other, "entries").unwrap(), 1, "the number given back");
    append(&mut txn, LOG, 2);
    txn.commit().unwrap();
    let read = storage.read().unwrap();
    assert!(read.get(&ns, "entries", "kept").unwrap().is_some());
    assert!(read.get(&other, "entries", "undone").unwrap().is_none());

    // Undoing everything since the start leaves nothing to audit.
    let mut txn = storage.write(&demo()).unwrap();
    let start = txn.savepoint();
    txn.put(&ns, &entries(), "kept", "{}").unwrap();
    txn.roll_back_to(start).unwrap();
    txn.commit().unwrap();
    assert!(
        storage.read().unwrap().get(&ns, "entries", "kept").unwrap().is_some_and(|d| d != "{}")
    );
}

#[test]
fn catalog_pages_stay_within_their_prefix_and_continue_after_a_key() {
    let (_dir, storage) = open();
    let mut txn = storage.write(&[Lane::Platform]).unwrap();
    for key in ["a/1", "b/1", "b/2", "b/3", "c/1"] {
        txn.catalog_put(key, key.as_bytes()).unwrap();
    }
    append(&mut txn, "platform", 1);
    txn.commit().unwrap();
    let read = storage.read().unwrap();
    let keys = |page: Vec<(String, Vec<u8>)>| page.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(keys(read.catalog_page("b/", None, 10).unwrap()), ["b/1", "b/2", "b/3"]);
    assert_eq!(keys(read.catalog_page("b/", None, 2).unwrap()), ["b/1", "b/2"]);
    assert_eq!(keys(read.catalog_page("b/", Some("b/2"), 10).unwrap()), ["b/3"]);
    assert_eq!(keys(read.catalog_page("b/", Some("a/9"), 10).unwrap()), ["b/1", "b/2", "b/3"]);
    assert!(read.catalog_page("b/", Some("b/3"), 10).unwrap().is_empty());
}

#[test]
fn a_turn_in_one_lane_never_waits_for_another_lane() {
    let (_dir, storage) = open();
    let storage = std::sync::Arc::new(storage);
    // A writer of tenant "slow" holds its turn (as a looping plugin would).
    let slow = storage.write(&[tenant("slow")]).unwrap();
    let other = {
        let storage = std::sync::Arc::clone(&storage);
        std::thread::spawn(move || {
            let mut txn = storage.write(&demo()).unwrap();
            txn.put(&ns("demo", "finance"), &entries(), "k", "{}").unwrap();
            commit_logged(txn);
        })
    };
    let started = std::time::Instant::now();
    while !other.is_finished() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "a commit in another lane waited for the held turn"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    other.join().unwrap();
    assert!(storage.read().unwrap().get(&ns("demo", "finance"), "entries", "k").unwrap().is_some());
    drop(slow);
}

#[test]
fn a_turn_waiting_for_a_tenant_does_not_hold_the_platform_meanwhile() {
    let (_dir, storage) = open();
    let storage = std::sync::Arc::new(storage);
    // Tenant "slow" has a long turn; an administrative change of it (the
    // platform and the tenant together) waits for it.
    let slow = storage.write(&[tenant("slow")]).unwrap();
    let both = {
        let storage = std::sync::Arc::clone(&storage);
        std::thread::spawn(move || drop(storage.write(&[Lane::Platform, tenant("slow")]).unwrap()))
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    // Every other platform change (a user signing up) goes on meanwhile.
    let started = std::time::Instant::now();
    let give_up = || started.elapsed() > std::time::Duration::from_secs(2);
    let platform = storage.write_unless(&[Lane::Platform], &give_up);
    assert!(platform.is_ok(), "a platform turn waited for a tenant's turn");
    drop(platform);
    drop(slow);
    both.join().unwrap();
}

#[test]
fn writers_of_one_lane_take_turns_in_arrival_order() {
    let (_dir, storage) = open();
    let storage = std::sync::Arc::new(storage);
    let first = storage.write(&demo()).unwrap();
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut waiting = Vec::new();
    for n in 0..4 {
        let (storage, order) = (std::sync::Arc::clone(&storage), std::sync::Arc::clone(&order));
        waiting.push(std::thread::spawn(move || {
            let mut txn = storage.write(&demo()).unwrap();
            order.lock().unwrap().push(n);
            txn.put(&ns("demo", "finance"), &entries(), &n.to_string(), "{}").unwrap();
            commit_logged(txn);
        }));
        // Each arrives while the ones before it wait.
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    assert!(order.lock().unwrap().is_empty(), "nobody runs while the turn is held");
    drop(first);
    for thread in waiting {
        thread.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
}

#[test]
fn a_writer_that_gives_up_waiting_holds_nothing() {
    let (_dir, storage) = open();
    let held = storage.write(&demo()).unwrap();
    let gave_up = storage.write_unless(&demo(), &|| true);
    assert!(matches!(gave_up, Err(Error::GaveUp)));
    drop(held);
    let mut txn = storage.write(&demo()).unwrap();
    txn.put(&ns("demo", "finance"), &entries(), "k", "{}").unwrap();
    commit_logged(txn);
}

#[test]
fn a_turn_cannot_write_outside_its_lanes() {
    let (_dir, storage) = open();
    let mut txn = storage.write(&demo()).unwrap();
    let err = txn.put(&ns("other", "finance"), &entries(), "k", "{}").unwrap_err();
    assert!(err.to_string().contains("tenant other"), "{err}");
    assert!(txn.catalog_put("user/alice", b"{}").is_err(), "users are the platform's");
    assert!(txn.log_append("platform", 1, b"{}").is_err());
    // It may read them.
    assert!(txn.catalog_get("user/alice").unwrap().is_none());
}

#[test]
fn a_turn_of_two_lanes_commits_both_at_once() {
    let (_dir, storage) = open();
    let mut txn = storage.write(&[Lane::Platform, tenant("demo")]).unwrap();
    txn.catalog_put("apitoken-digest/abc", b"apitoken/demo/1").unwrap();
    txn.catalog_put("apitoken/demo/1", b"{}").unwrap();
    append(&mut txn, LOG, 1);
    txn.commit().unwrap();
    let read = storage.read().unwrap();
    assert!(read.catalog_get("apitoken-digest/abc").unwrap().is_some());
    assert!(read.catalog_get("apitoken/demo/1").unwrap().is_some());
    // Both lanes go on from there.
    commit_logged_in(storage.write(&demo()).unwrap(), LOG);
    commit_logged_in(storage.write(&[Lane::Platform]).unwrap(), "platform");
    assert_eq!(storage.read().unwrap().catalog_scan("apitoken/").unwrap().len(), 1);
}

#[test]
fn commits_of_one_lane_share_log_syncs() {
    let (_dir, storage) = open();
    let storage = std::sync::Arc::new(storage);
    let first = storage.write(&demo()).unwrap();
    let writers: Vec<_> = (0..16)
        .map(|n| {
            let storage = std::sync::Arc::clone(&storage);
            std::thread::spawn(move || {
                let mut txn = storage.write(&demo()).unwrap();
                txn.put(&ns("demo", "finance"), &entries(), &n.to_string(), "{}").unwrap();
                commit_logged(txn);
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    drop(first);
    for writer in writers {
        writer.join().unwrap();
    }
    let stats = storage.commit_stats();
    assert_eq!(stats.commits, 16);
    assert!(stats.syncs < 16, "queued turns share syncs: {stats:?}");
}

#[test]
fn what_readers_see_is_durable_and_redb_catches_up_behind_them() {
    let (_dir, storage) = open();
    let ns = ns("demo", "finance");
    for n in 0..50 {
        let mut txn = storage.write(&demo()).unwrap();
        txn.insert(&ns, &entries(), &format!("{n:03}"), &doc("2026-01-01", &["1000"])).unwrap();
        commit_logged(txn);
        // Acknowledged: every reader sees it, whether redb holds it yet or not.
        let read = storage.read().unwrap();
        let range = KeyRange::default();
        let page = read.lookup(&ns, "entries", "by-account", &range, None, 100).unwrap();
        assert_eq!(page.entries.len(), n + 1);
    }
    // Redb catches up; the overlays empty.
    let started = std::time::Instant::now();
    while storage.read().unwrap().view.lanes.values().any(|l| !l.overlay.is_empty()) {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the applier is stuck");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let read = storage.read().unwrap();
    assert_eq!(
        read.scan(&ns, "entries", &KeyRange::default(), None, 100).unwrap().entries.len(),
        50
    );
}

#[test]
fn a_crash_before_redb_has_the_commits_loses_nothing_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.redb");
    let ns = ns("demo", "finance");
    {
        let storage = Storage::open(&path, Limits::default()).unwrap();
        storage.shared.core.freeze();
        for n in 0..20 {
            let mut txn = storage.write(&demo()).unwrap();
            assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), n + 1);
            txn.insert(&ns, &entries(), &format!("{n:03}"), &doc("2026-01-01", &["1000"])).unwrap();
            commit_logged(txn);
        }
        // A turn that finished but whose commit nobody waited for: not
        // acknowledged, and a crash may lose it.
        let mut txn = storage.write(&demo()).unwrap();
        txn.insert(&ns, &entries(), "unsure", "{}").unwrap();
        append(&mut txn, LOG, 21);
        let _never_waited = txn.finish().unwrap();
    }
    let storage = Storage::open(&path, Limits::default()).unwrap();
    let read = storage.read().unwrap();
    let page = read
        .scan(
            &ns,
            "entries",
            &KeyRange { prefix: Some("0".to_owned()), ..KeyRange::default() },
            None,
            100,
        )
        .unwrap();
    assert_eq!(page.entries.len(), 20, "every acknowledged commit came back from the log");
    let by_account =
        read.lookup(&ns, "entries", "by-account", &KeyRange::default(), None, 100).unwrap();
    assert!(by_account.entries.len() >= 20, "with its index entries");
    assert_eq!(read.log_last(LOG).unwrap().map(|(seq, _)| seq >= 20), Some(true));
    // The lane goes on after what came back, numbers unbroken.
    let mut txn = storage.write(&demo()).unwrap();
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 21);
    commit_logged(txn);
    drop(read);
    drop(storage);
    // And a second restart (with the log recycled) still has it all.
    let storage = Storage::open(&path, Limits::default()).unwrap();
    let mut txn = storage.write(&demo()).unwrap();
    assert_eq!(txn.next_sequence(&ns, "entries").unwrap(), 22);
}

#[cfg(feature = "faults")]
#[test]
fn a_failed_log_sync_is_never_acknowledged_and_a_restart_keeps_what_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.redb");
    let ns = ns("demo", "finance");
    for fault in [Fault::LogSync, Fault::LogWrite] {
        {
            let storage = Storage::open(&path, Limits::default()).unwrap();
            let mut txn = storage.write(&demo()).unwrap();
            txn.put(&ns, &entries(), "kept", &format!("{{\"fault\":\"{fault:?}\"}}")).unwrap();
            commit_logged(txn);
            storage.inject(fault);
            let mut txn = storage.write(&demo()).unwrap();
            txn.put(&ns, &entries(), "failed", "{}").unwrap();
            let err = {
                let next = txn.log_last(LOG).unwrap().map_or(1, |(seq, _)| seq + 1);
                append(&mut txn, LOG, next);
                txn.commit().unwrap_err()
            };
            assert!(err.to_string().contains("injected"), "{err}");
            // From now on writes are refused, in every lane; reads go on.
            let refused = storage.write(&[tenant("other")]).err().map(|e| e.to_string());
            assert!(refused.is_some_and(|e| e.contains("restart")));
            assert!(storage.read().unwrap().get(&ns, "entries", "kept").unwrap().is_some());
        }
        let storage = Storage::open(&path, Limits::default()).unwrap();
        let read = storage.read().unwrap();
        let kept = read.get(&ns, "entries", "kept").unwrap().unwrap();
        assert!(kept.contains(&format!("{fault:?}")), "the acknowledged write survived: {kept}");
        drop(read);
        // And the store takes writes again.
        let mut txn = storage.write(&demo()).unwrap();
        txn.delete(&ns, &entries(), "failed").unwrap();
        commit_logged(txn);
    }
}

#[test]
fn a_restart_never_reuses_a_segment_id_whose_old_records_remain_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.redb");
    let log_dir = dir.path().join("keel.wal");
    let segments = || -> Vec<u64> {
        let names = std::fs::read_dir(&log_dir).unwrap();
        let stems = names.filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".wal").and_then(|stem| u64::from_str_radix(stem, 16).ok())
        });
        stems.collect()
    };
    let ns = ns("demo", "finance");
    let write = |storage: &Storage, key: &str| {
        let mut txn = storage.write(&demo()).unwrap();
        txn.put(&ns, &entries(), key, "{}").unwrap();
        commit_logged(txn);
    };
    {
        let storage = Storage::open(&path, Limits::default()).unwrap();
        write(&storage, "first");
    }
    let used = segments().into_iter().max().expect("the first run wrote a segment");
    // A run that writes nothing: recovery turns the segments into spares.
    drop(Storage::open(&path, Limits::default()).unwrap());
    {
        let storage = Storage::open(&path, Limits::default()).unwrap();
        write(&storage, "third");
        let now = segments();
        assert!(!now.is_empty() && now.iter().all(|id| *id > used), "{now:?} after {used}");
    }
    let storage = Storage::open(&path, Limits::default()).unwrap();
    let read = storage.read().unwrap();
    for key in ["first", "third"] {
        assert!(read.get(&ns, "entries", key).unwrap().is_some(), "{key}");
    }
}

#[test]
fn a_tenant_past_its_storage_quota_is_refused_growth_but_may_delete() {
    let (dir, storage) = open();
    let coll = entries();
    let big = format!("{{\"date\":\"2026-01-01\",\"memo\":\"{}\"}}", "x".repeat(2_000));
    // Fill `demo` up to about 10 kB, in turns without a quota.
    for n in 0..5 {
        let mut txn = storage.write(&demo()).unwrap();
        txn.put(&ns("demo", "finance"), &coll, &format!("k{n}"), &big).unwrap();
        commit_logged(txn);
    }
    let stored = storage.stored_bytes(&TenantId::new("demo").unwrap()).unwrap();
    assert!((10_000..11_000).contains(&stored), "demo stores {stored} bytes");

    // Growth past the quota is refused, and changes nothing.
    let mut txn = storage.write(&demo()).unwrap();
    txn.limit_stored(stored + 1_000);
    txn.put(&ns("demo", "finance"), &coll, "k5", &big).unwrap();
    let next = txn.log_last(LOG).unwrap().map_or(1, |(seq, _)| seq + 1);
    append(&mut txn, LOG, next);
    match txn.commit() {
        Err(Error::QuotaExceeded { tenant, stored: was, needed, quota }) => {
            assert_eq!((tenant.as_str(), was, quota), ("demo", stored, stored + 1_000));
            assert!(needed > 2_000, "the change needs {needed} bytes");
        }
        other => panic!("expected the quota to refuse the change, got {other:?}"),
    }
    let read = storage.read().unwrap();
    assert_eq!(read.get(&ns("demo", "finance"), "entries", "k5").unwrap(), None);
    assert_eq!(read.log_last(LOG).unwrap().map(|(seq, _)| seq), Some(5));

    // At its quota, a change that adds no data but its audit record is refused too.
    let mut txn = storage.write(&demo()).unwrap();
    txn.limit_stored(stored);
    txn.put(&ns("demo", "finance"), &coll, "k0", &big).unwrap();
    let next = txn.log_last(LOG).unwrap().map_or(1, |(seq, _)| seq + 1);
    append(&mut txn, LOG, next);
    assert!(matches!(txn.commit(), Err(Error::QuotaExceeded { .. })));

    // Another tenant is not held to demo's usage.
    let mut txn = storage.write(&[tenant("acme")]).unwrap();
    txn.limit_stored(stored + 1_000);
    txn.put(&ns("acme", "finance"), &coll, "k0", &big).unwrap();
    commit_logged_in(txn, "tenant/acme");

    // A change that frees space commits under any quota, and the count follows it.
    let mut txn = storage.write(&demo()).unwrap();
    txn.limit_stored(1);
    txn.delete(&ns("demo", "finance"), &coll, "k0").unwrap();
    txn.delete(&ns("demo", "finance"), &coll, "k1").unwrap();
    commit_logged(txn);
    let after = storage.stored_bytes(&TenantId::new("demo").unwrap()).unwrap();
    assert!(after < stored - 3_900, "demo stores {after} bytes after freeing 2 documents");

    // The count kept by commits is what a fresh walk measures.
    drop(storage);
    let storage = Storage::open(&dir.path().join("keel.redb"), Limits::default()).unwrap();
    assert_eq!(storage.stored_bytes(&TenantId::new("demo").unwrap()).unwrap(), after);
}

#[test]
fn the_bytes_a_tenant_stores_are_kept_by_its_commits_as_a_walk_would_measure_them() {
    let (dir, mut storage) = open();
    let coll = entries();
    let demo_id = TenantId::new("demo").unwrap();
    // Measured once, before any write, so that every commit keeps it.
    assert_eq!(storage.stored_bytes(&demo_id).unwrap(), 0);
    let mut txn = storage.write(&demo()).unwrap();
    txn.limit_stored(u64::MAX);
    commit_logged(txn);
    let mut state: u64 = 7;
    let mut next = |n: u64| {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    for round in 0..60 {
        let mut txn = storage.write(&demo()).unwrap();
        for _ in 0..1 + next(6) {
            let key = format!("k{}", next(8));
            let accounts: Vec<String> = (0..next(4)).map(|a| format!("{}", 1000 + a)).collect();
            let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
            let body = doc(&format!("2026-01-{:02}", 1 + next(28)), &accounts);
            let ns = ns("demo", ["finance", "stock"][next(2) as usize]);
            match next(7) {
                0 | 1 => drop(txn.put(&ns, &coll, &key, &body).unwrap()),
                2 => drop(txn.insert(&ns, &coll, &key, &body)),
                3 => drop(txn.delete(&ns, &coll, &key).unwrap()),
                4 => txn.catalog_put(&format!("event/demo/{key}"), body.as_bytes()).unwrap(),
                5 => drop(txn.catalog_remove(&format!("event/demo/{key}")).unwrap()),
                _ => drop(txn.next_sequence(&ns, &key).unwrap()),
            }
            if next(9) == 0 {
                // A kept head of the audit chain: the tenant's too.
                let chain = "heads/tenant/demo";
                let seq = txn.log_last(chain).unwrap().map_or(1, |(seq, _)| seq + 1);
                txn.log_append(chain, seq, b"{\"head\":1}").unwrap();
            }
            if next(5) == 0 {
                // A nested call that fails: its writes are undone, and uncounted.
                let savepoint = txn.savepoint();
                txn.put(&ns, &coll, "undone", &body).unwrap();
                txn.roll_back_to(savepoint).unwrap();
            }
        }
        commit_logged(txn);
        if round % 20 == 19 {
            let kept = storage.stored_bytes(&demo_id).unwrap();
            drop(storage);
            storage = Storage::open(&dir.path().join("keel.redb"), Limits::default()).unwrap();
            assert_eq!(storage.stored_bytes(&demo_id).unwrap(), kept, "after round {round}");
            // A fresh walk measured it; the next turns keep it again.
            let mut txn = storage.write(&demo()).unwrap();
            txn.limit_stored(u64::MAX);
            commit_logged(txn);
        }
    }
}

#[test]
fn a_tenant_measured_while_it_writes_is_counted_as_a_fresh_walk_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.redb");
    let coll = entries();
    {
        let storage = Storage::open(&path, Limits::default()).unwrap();
        for n in 0..50 {
            let mut txn = storage.write(&demo()).unwrap();
            txn.put(&ns("demo", "finance"), &coll, &format!("a{n}"), &doc("2026-02-01", &["1"]))
                .unwrap();
            commit_logged(txn);
        }
    }
    // Not measured yet after a start: measured while another thread writes.
    let storage = std::sync::Arc::new(Storage::open(&path, Limits::default()).unwrap());
    let (started, writing) = std::sync::mpsc::channel();
    let writer = {
        let storage = std::sync::Arc::clone(&storage);
        std::thread::spawn(move || {
            for n in 0..300 {
                if n == 100 {
                    started.send(()).unwrap();
                }
                let mut txn = storage.write(&demo()).unwrap();
                let (key, date) = (format!("b{}", n % 60), format!("2026-03-{:02}", 1 + n % 28));
                if n % 7 == 0 {
                    txn.delete(&ns("demo", "finance"), &coll, &format!("a{n}")).unwrap();
                }
                txn.put(&ns("demo", "finance"), &coll, &key, &doc(&date, &["2", "3"])).unwrap();
                commit_logged(txn);
            }
        })
    };
    let demo_id = TenantId::new("demo").unwrap();
    writing.recv().unwrap();
    let during = storage.stored_bytes(&demo_id).unwrap();
    writer.join().unwrap();
    let kept = storage.stored_bytes(&demo_id).unwrap();
    assert!(kept >= during, "{during} -> {kept}");
    drop(storage);
    let storage = Storage::open(&path, Limits::default()).unwrap();
    assert_eq!(storage.stored_bytes(&demo_id).unwrap(), kept);
}
