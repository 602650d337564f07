//! Backups of a serving kernel, and restores of them, as an operator makes
//! them: under write load, checked file by file and chain by chain.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use keel_tests::{Setup, TestKernel};
use serde_json::{Value, json};

const F: &str = "/api/demo/finance";

/// Posts entries until `stop`, counting those acknowledged.
async fn post_until(
    (client, url, token): (reqwest::Client, String, String),
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
) {
    while !stop.load(Ordering::SeqCst) {
        let entry = json!({ "date": "2026-03-01", "memo": "load", "lines": [
            { "account": "6100", "debit": "10.00" }, { "account": "1100", "credit": "10.00" } ] });
        let posted = client.post(&url).bearer_auth(&token).json(&entry).send().await.unwrap();
        assert_eq!(posted.status(), 201);
        acked.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_writes_restores_whole_and_checked() {
    let root = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(root.path(), Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);

    let (stop, acked) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked));
            let to = (
                k.client().clone(),
                format!("{}{F}/entries", k.base()),
                k.admin_token().to_owned(),
            );
            tokio::spawn(post_until(to, stop, acked))
        })
        .collect();
    while acked.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = acked.load(Ordering::SeqCst);
    let made = k.post("/admin/backups", json!(null)).await;
    let backup = made.expect(201).clone();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    // What was acknowledged before the backup began is in it; what it
    // holds was acknowledged by the time the writers stopped.
    let after = acked.load(Ordering::SeqCst);
    let id = backup["id"].as_str().unwrap().to_owned();
    assert!(backup["files"]["keel.redb"]["sha256"].as_str().unwrap().len() == 64, "{backup}");
    let listed = k.get("/admin/backups").await;
    assert_eq!(listed.expect(200)["backups"][0]["id"], id.as_str());
    let trail = k.get("/admin/audit?action=backup.create").await;
    assert_eq!(
        trail.expect(200)["entries"][0]["record"]["key"],
        id.as_str(),
        "the backup is audited"
    );
    // Only who may manage backups makes one.
    let clerk = k.user_with_roles("clerk", "demo", &["accountant"]).await;
    k.send_as(Some(&clerk), "POST", "/admin/backups", None).await.expect_problem(403, "forbidden");
    let data = root.path().join("data");
    k.stop().await;

    let backup_dir = data.join("backups").join(&id);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode(&backup_dir) & 0o777, 0o700, "as private as the data directory");
        assert_eq!(mode(&backup_dir.join("keel.redb")) & 0o777, 0o600);
    }
    // A damaged copy is refused, naming the file.
    let damaged = root.path().join("damaged");
    copy_dir(&backup_dir, &damaged);
    let file = damaged.join("keel.redb");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let refused =
        keel_host::restore_backup(&damaged, &root.path().join("nowhere"), None).unwrap_err();
    assert!(refused.to_string().contains("keel.redb is not as it was backed up"), "{refused}");
    let named = format!("the backup at {} is damaged", damaged.display());
    assert!(refused.to_string().contains(&named), "the backup, not its staged copy: {refused}");
    assert!(!root.path().join("nowhere").join("keel.redb").exists());

    // A manifest naming a file outside the backup is refused.
    let crafted = root.path().join("crafted");
    copy_dir(&backup_dir, &crafted);
    let manifest = crafted.join("backup.json");
    let mut edited: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    edited["files"]["../escape"] = edited["files"]["keel.redb"].clone();
    std::fs::write(&manifest, serde_json::to_vec(&edited).unwrap()).unwrap();
    let refused =
        keel_host::restore_backup(&crafted, &root.path().join("nowhere"), None).unwrap_err();
    assert!(refused.to_string().contains("which no backup holds"), "{refused}");
    // So is compiled code not named as the kernel's cache names it, and an
    // id that is not a backup's name.
    let digest = "ab".repeat(32);
    for odd in [
        format!("cache/{}-00112233aabbccdd.cwasm", digest.to_uppercase()),
        format!("cache/sub/{digest}-00112233aabbccdd.cwasm"),
        format!("cache/{digest}-00112233aabbccdd.wasm"),
        "cache/../keel.redb".to_owned(),
    ] {
        let mut edited: Value =
            serde_json::from_slice(&std::fs::read(backup_dir.join("backup.json")).unwrap())
                .unwrap();
        edited["files"][&odd] = edited["files"]["keel.redb"].clone();
        std::fs::write(&manifest, serde_json::to_vec(&edited).unwrap()).unwrap();
        let refused =
            keel_host::restore_backup(&crafted, &root.path().join("nowhere"), None).unwrap_err();
        assert!(refused.to_string().contains("which no backup holds"), "{odd}: {refused}");
    }
    let mut edited: Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("backup.json")).unwrap()).unwrap();
    edited["id"] = json!("../../elsewhere");
    std::fs::write(&manifest, serde_json::to_vec(&edited).unwrap()).unwrap();
    let refused =
        keel_host::restore_backup(&crafted, &root.path().join("nowhere"), None).unwrap_err();
    assert!(refused.to_string().contains("is not a backup's name"), "{refused}");
    // A restore that fails its checks after copying leaves nothing behind.
    let mut edited: Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("backup.json")).unwrap()).unwrap();
    edited["counts"]["documents"] = json!(edited["counts"]["documents"].as_u64().unwrap() + 1);
    std::fs::write(&manifest, serde_json::to_vec(&edited).unwrap()).unwrap();
    let failed_into = root.path().join("failed");
    let refused = keel_host::restore_backup(&crafted, &failed_into, None).unwrap_err();
    assert!(refused.to_string().contains("use another backup"), "{refused}");
    let left: Vec<_> = std::fs::read_dir(&failed_into).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");

    let restored_root = root.path().join("restored");
    let restored_data = restored_root.join("data");
    let restored = keel_host::restore_backup(&backup_dir, &restored_data, None).unwrap();
    assert!(restored.chains.iter().any(|(chain, n)| chain == "tenant/demo" && *n > 20));
    let again = keel_host::restore_backup(&backup_dir, &restored_data, None).unwrap_err();
    assert!(again.to_string().contains("already holds a database"), "{again}");
    // The keys are kept apart from backups, and put back beside it.
    for key in ["secrets.key", "data.key", "audit-signing.key"] {
        std::fs::copy(data.join(key), restored_data.join(key)).unwrap();
    }
    let k = TestKernel::start_in(&restored_root, Setup::new(&["finance"])).await;
    let entries = k.get(&format!("{F}/entries?limit=1000")).await.expect(200)["entries"].clone();
    let numbers: Vec<u64> =
        entries.as_array().unwrap().iter().map(|e| e["number"].as_u64().unwrap()).collect();
    let n = numbers.len() as u64;
    assert!((before..=after).contains(&n), "{before} <= {n} <= {after}");
    assert_eq!(numbers, (1..=n).collect::<Vec<_>>(), "gapless, as acknowledged");
    // The trial balance is the entries', to the cent.
    let trial = k.get(&format!("{F}/reports/trial-balance")).await.expect(200).clone();
    assert_eq!(trial["totals"][0]["balanced"], true, "{trial}");
    let total = format!("{}.00", n * 10);
    assert_eq!(trial["totals"][0]["debit"], total.as_str(), "{trial}");
    let verdict = k.get("/admin/tenants/demo/audit/verify").await;
    assert_eq!(verdict.expect(200)["ok"], true, "{}", verdict.body);
    // And it takes writes, numbering on.
    let entry = json!({ "date": "2026-03-02", "memo": "after", "lines": [
        { "account": "6100", "debit": "1.00" }, { "account": "1100", "credit": "1.00" } ] });
    let posted: Value = k.post(&format!("{F}/entries"), entry).await.expect(201).clone();
    assert_eq!(posted["number"], n + 1);
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_and_a_restore_show_how_far_each_step_is() {
    let root = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(root.path(), Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let idle = k.get("/admin/backups/progress").await.expect(200).clone();
    assert_eq!(idle, json!({ "progress": null }));
    let clerk = k.user_with_roles("clerk", "demo", &["accountant"]).await;
    let denied = k.send_as(Some(&clerk), "GET", "/admin/backups/progress", None).await;
    denied.expect_problem(403, "forbidden");
    // A package the kernel keeps, to be backed up with the database.
    let upload = k
        .request(reqwest::Method::POST, "/admin/packages")
        .header("content-type", "application/wasm")
        .body(keel_tests::plugin_bytes("notes-v1"));
    assert_eq!(upload.send().await.unwrap().status(), 201);

    // Each step is told as it goes, and what a caller of the kernel is
    // told meanwhile is the same.
    let host = k.host().clone();
    let dir = root.path().join("by-hand");
    let origin = keel_audit::Origin {
        at: 0,
        actor: "admin".to_owned(),
        roles: Vec::new(),
        request_id: None,
        source: None,
    };
    let extras =
        keel_host::Extras { keys: Some("kept apart from the backups"), compiled_code: true };
    let (backup, told) = tokio::task::spawn_blocking(move || {
        let mut told: Vec<keel_host::Progress> = Vec::new();
        let backup = host
            .back_up_showing(&origin, &dir, extras, &mut |p| {
                assert_eq!(host.backup_progress().as_ref(), Some(p), "the kernel tells the same");
                told.push(p.clone());
            })
            .unwrap();
        assert_eq!(host.backup_progress(), None, "none once it is made");
        (backup, told)
    })
    .await
    .unwrap();
    let mut steps: Vec<keel_host::Step> = told.iter().map(|p| p.step).collect();
    steps.dedup();
    use keel_host::Step::*;
    assert_eq!(
        steps,
        [SealingKeys, CopyingDatabase, CopyingPackages, CopyingCompiledCode, Checksums]
    );
    let last_of = |step| told.iter().rev().find(|p| p.step == step).unwrap();
    let c = backup.counts;
    let entries = c.documents + c.index_entries + c.sequences + c.catalog_records + c.log_entries;
    assert_eq!(last_of(CopyingDatabase).done, entries, "every entry copied is told");
    let bytes: u64 = backup.files.values().map(|f| f.bytes).sum();
    let checksums = last_of(Checksums);
    assert_eq!((checksums.done, checksums.total), (bytes, Some(bytes)));
    assert!(checksums.line().contains("reading each file for its SHA-256"), "{}", checksums.line());
    let packages = last_of(CopyingPackages);
    assert_eq!(packages.total, Some(packages.done));
    // The compiled code, as the kernel's cache holds it, and its digests
    // in the audit record of the backup.
    let compiled: Vec<&String> = backup.files.keys().filter(|f| f.starts_with("cache/")).collect();
    let cache = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/keel-test-cache");
    assert!(!compiled.is_empty());
    for file in &compiled {
        let name = file.strip_prefix("cache/").unwrap();
        let kept = std::fs::read(root.path().join("by-hand").join(file)).unwrap();
        assert_eq!(kept, std::fs::read(cache.join(name)).unwrap(), "{file} as cached");
    }
    let trail = k.get("/admin/audit?action=backup.create").await.expect(200).clone();
    let audited = &trail["entries"][0]["record"]["after"]["compiled_code"];
    for file in &compiled {
        assert_eq!(audited[file.as_str()], backup.files[file.as_str()].sha256.as_str(), "{file}");
    }
    k.stop().await;

    let mut told: Vec<keel_host::Progress> = Vec::new();
    let into = root.path().join("restored");
    let backup_dir = root.path().join("by-hand");
    let asked = keel_host::Restore { passphrase: None, compiled_code: true };
    let restored =
        keel_host::restore_backup_showing(&backup_dir, &into, asked, &mut |p| told.push(p.clone()))
            .unwrap();
    assert_eq!((restored.compiled_code, restored.compiled_code_skipped), (compiled.len(), None));
    for file in &compiled {
        assert!(into.join(file).is_file(), "{file} is back in the data directory's cache");
    }
    // An entry the cache already holds is kept as it was.
    let other = root.path().join("other");
    std::fs::create_dir_all(other.join("cache")).unwrap();
    std::fs::write(other.join(compiled[0]), b"kept").unwrap();
    let again = keel_host::restore_backup_showing(&backup_dir, &other, asked, &mut |_| {}).unwrap();
    assert_eq!(again.compiled_code, compiled.len() - 1);
    assert!(again.compiled_code_skipped.unwrap().contains("1 already in"));
    assert_eq!(std::fs::read(other.join(compiled[0])).unwrap(), b"kept");
    // A restore that fails while putting files in place takes back what it
    // had placed: here `packages` is a file, so the packages cannot go.
    let blocked = root.path().join("blocked");
    std::fs::create_dir_all(&blocked).unwrap();
    std::fs::write(blocked.join("packages"), b"in the way").unwrap();
    let pass = Some("kept apart from the backups");
    let asked_keys = keel_host::Restore { passphrase: pass, compiled_code: true };
    keel_host::restore_backup_showing(&backup_dir, &blocked, asked_keys, &mut |_| {}).unwrap_err();
    let mut left: Vec<String> = std::fs::read_dir(&blocked)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["packages"], "no key, database or cache left behind");
    std::fs::remove_file(blocked.join("packages")).unwrap();
    keel_host::restore_backup_showing(&backup_dir, &blocked, asked_keys, &mut |_| {}).unwrap();
    assert!(blocked.join("keel.redb").is_file() && blocked.join("secrets.key").is_file());
    // Without asking, the compiled code stays in the backup.
    let plain = keel_host::restore_backup(&backup_dir, &root.path().join("plain"), None).unwrap();
    assert_eq!(plain.compiled_code, 0);
    assert!(!root.path().join("plain").join("cache").exists());
    let mut steps: Vec<keel_host::Step> = told.iter().map(|p| p.step).collect();
    steps.dedup();
    assert_eq!(steps, [CopyingFiles, Checksums, CountingTables, VerifyingChains]);
    for step in steps {
        let last = told.iter().rev().find(|p| p.step == step).unwrap();
        assert_eq!(Some(last.done), last.total, "{step:?} ends whole: {}", last.line());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_backups_beyond_those_kept_are_removed() {
    let mut setup = Setup::new(&["finance"]);
    setup.backups_keep = 2;
    let k = TestKernel::start(setup).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(k.post("/admin/backups", json!(null)).await.expect(201)["id"].clone());
    }
    let listed = k.get("/admin/backups").await.expect(200)["backups"].clone();
    let ids: Vec<&Value> = listed.as_array().unwrap().iter().map(|b| &b["id"]).collect();
    assert_eq!(ids, [&made[1], &made[2]], "the first is gone");
    k.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_holds_the_keys_sealed_and_only_its_passphrase_restores_them() {
    const PASSPHRASE: &str = "kept apart from the backups";
    let root = tempfile::tempdir().unwrap();
    let k = TestKernel::start_in(root.path(), Setup::new(&["finance"])).await;
    k.post(&format!("{F}/chart-templates/starter"), json!({ "currency": "EUR" })).await.expect(201);
    let short = k.post("/admin/backups", json!({ "keys_passphrase": "too short" })).await;
    assert!(short.expect_problem(422, "invalid").contains("12 to 1024 characters"));
    let made = k.post("/admin/backups", json!({ "keys_passphrase": PASSPHRASE })).await;
    let backup = made.expect(201).clone();
    assert_eq!(backup["files"]["keys.sealed"]["sha256"].as_str().map(str::len), Some(64));
    let trail = k.get("/admin/audit?action=backup.create").await.expect(200).clone();
    assert_eq!(trail["entries"][0]["record"]["after"]["keys"], true, "{trail}");
    assert!(!trail.to_string().contains(PASSPHRASE), "the passphrase is never kept");
    let id = backup["id"].as_str().unwrap().to_owned();
    k.stop().await;

    let data = root.path().join("data");
    let backup_dir = data.join("backups").join(&id);
    let sealed = std::fs::read_to_string(backup_dir.join("keys.sealed")).unwrap();
    for key in ["secrets.key", "data.key", "audit-signing.key"] {
        let hex: String =
            std::fs::read(data.join(key)).unwrap().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!sealed.contains(&hex[..32]), "{key} is not in the clear");
    }
    // A wrong passphrase restores nothing at all.
    let restored_root = root.path().join("restored");
    let restored_data = restored_root.join("data");
    let wrong = keel_host::restore_backup(&backup_dir, &restored_data, Some("not the passphrase"))
        .unwrap_err();
    assert!(wrong.to_string().starts_with("the passphrase does not open the keys"), "{wrong}");
    assert!(!restored_data.join("keel.redb").exists());
    // Damage is named as damage, not as a wrong passphrase.
    let damaged = root.path().join("damaged");
    copy_dir(&backup_dir, &damaged);
    let mut sealed_bytes = std::fs::read(damaged.join("keys.sealed")).unwrap();
    let middle = sealed_bytes.len() / 2;
    sealed_bytes[middle] ^= 1;
    std::fs::write(damaged.join("keys.sealed"), sealed_bytes).unwrap();
    let refused =
        keel_host::restore_backup(&damaged, &root.path().join("nowhere"), Some(PASSPHRASE))
            .unwrap_err();
    assert!(refused.to_string().contains("keys.sealed is not as it was backed up"), "{refused}");
    // The right one puts every key back, as private as the originals.
    let restored =
        keel_host::restore_backup(&backup_dir, &restored_data, Some(PASSPHRASE)).unwrap();
    let mut names = restored.keys_restored.clone();
    names.sort();
    assert_eq!(names, ["audit-signing.key", "data.key", "secrets.key"]);
    for key in &names {
        assert_eq!(
            std::fs::read(restored_data.join(key)).unwrap(),
            std::fs::read(data.join(key)).unwrap(),
            "{key}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(restored_data.join(key)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
    // The restored kernel reads what the original sealed and signed.
    let k = TestKernel::start_in(&restored_root, Setup::new(&["finance"])).await;
    let verdict = k.get("/admin/tenants/demo/audit/verify").await;
    assert_eq!(verdict.expect(200)["ok"], true, "{}", verdict.body);
    k.stop().await;
    // Without the passphrase the data restores, and the keys stay sealed.
    let plain = keel_host::restore_backup(&backup_dir, &root.path().join("other"), None).unwrap();
    assert!(plain.keys_sealed && plain.keys_restored.is_empty());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
