//! The storage's own tests: namespaces, documents, indexes, pages, limits,
//! the audit-log rule and sealing, and inventories; lane turns, group
//! commit and recovery in `lanes`; quotas in `quota`.

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

mod lanes;
mod quota;

#[test]
fn a_file_that_cannot_be_made_says_which_and_keeps_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.redb");
    // Where the write-ahead log's directory must go, a file is in the way.
    std::fs::write(dir.path().join("keel.wal"), b"not a directory").unwrap();
    let Err(err) = Storage::open(&path, Limits::default()) else { panic!("opened") };
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("keel.wal"), "{err}");
    let source = std::error::Error::source(&err).expect("the operating system's error");
    assert!(source.downcast_ref::<std::io::Error>().is_some(), "{source:?}");
}

#[test]
fn a_copy_holds_the_snapshot_whole_and_opens_as_a_database_of_its_own() {
    let (dir, storage) = open();
    let coll = entries();
    let acme = ns("acme", "finance");
    for n in 1..=25 {
        let mut txn = storage.write(&[tenant("acme")]).unwrap();
        txn.insert(&acme, &coll, &format!("e{n:02}"), &doc("2026-01-02", &["1000"])).unwrap();
        txn.next_sequence(&acme, "entries").unwrap();
        txn.catalog_put("enabled/acme/finance", b"0.1.0").unwrap();
        commit_logged_in(txn, "tenant/acme");
    }
    let snapshot = storage.read().unwrap();
    // A commit after the snapshot is not in the copy.
    let mut later = storage.write(&[tenant("acme")]).unwrap();
    later.insert(&acme, &coll, "late", &doc("2026-01-03", &["1000"])).unwrap();
    commit_logged_in(later, "tenant/acme");

    let file = dir.path().join("copy").join("keel.redb");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mut told = Vec::new();
    let copied = snapshot.copy_to(&file, &mut |so_far| told.push(*so_far)).unwrap();
    assert_eq!(told.last(), Some(&copied), "told of every entry by the end");
    assert_eq!(
        (copied.documents, copied.sequences, copied.catalog_records, copied.log_entries),
        (25, 1, 1, 25)
    );
    assert_eq!(copied.index_entries, 50, "two indexes a document");
    assert!(snapshot.copy_to(&file, &mut |_| {}).is_err(), "never over an existing file");
    drop((snapshot, storage));

    let copy = Storage::open(&file, Limits::default()).unwrap();
    let read = copy.read().unwrap();
    let page = read.scan(&acme, "entries", &KeyRange::default(), None, 100).unwrap();
    assert_eq!(page.entries.len(), 25);
    assert!(read.get(&acme, "entries", "late").unwrap().is_none());
    let by_date =
        read.lookup(&acme, "entries", "by-date", &KeyRange::default(), None, 100).unwrap();
    assert_eq!(by_date.entries.len(), 25);
    assert_eq!(read.log_last("tenant/acme").unwrap().map(|(seq, _)| seq), Some(25));
    drop(read);
    // The copy takes writes, its sequences going on from where they were.
    let mut txn = copy.write(&[tenant("acme")]).unwrap();
    assert_eq!(txn.next_sequence(&acme, "entries").unwrap(), 26);
    commit_logged_in(txn, "tenant/acme");
}
