//! Turns of lanes, group commit, savepoints, and what survives a crash or
//! a failed sync.

use super::*;

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
    until_waiting(&storage, &tenant("slow"), 1);
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
        let (writer, order) = (std::sync::Arc::clone(&storage), std::sync::Arc::clone(&order));
        waiting.push(std::thread::spawn(move || {
            let mut txn = writer.write(&demo()).unwrap();
            order.lock().unwrap().push(n);
            txn.put(&ns("demo", "finance"), &entries(), &n.to_string(), "{}").unwrap();
            commit_logged(txn);
        }));
        // Each arrives while the ones before it wait.
        until_waiting(&storage, &demo()[0], n + 1);
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
    until_waiting(&storage, &demo()[0], 16);
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

/// Waits until `n` writers wait for `lane`'s turn.
fn until_waiting(storage: &Storage, lane: &Lane, n: usize) {
    let cell = storage.shared.lane(lane).unwrap();
    let started = std::time::Instant::now();
    while cell.waiting() < n {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{n} writers never queued for {lane:?}'s turn"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
