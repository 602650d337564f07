//! The bytes a tenant stores, as its quota counts them, and the quota's
//! refusals.

use super::*;

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
