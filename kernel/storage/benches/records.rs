//! Micro-benchmarks of the records layer: reading a document, scanning a
//! page, and writing indexed documents (CPU only: many writes in one
//! transaction, committed once, so fsync does not drown the figure); and
//! ending a posting-sized turn with and without a storage quota to check,
//! which prices the accounting of what the turn stores.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use keel_storage::{KeyRange, Lane, Namespace, Storage};
use keel_types::schema::{CollectionDef, FieldPath, IndexDef};
use keel_types::{Limits, PluginId, TenantId};

const DOCS: u32 = 1000;

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

/// A journal-entry-sized document (about 400 bytes, four lines).
fn document(n: u32) -> String {
    format!(
        r#"{{"number":{n},"date":"2026-11-{:02}","memo":"Office rent","reference":"INV-{n}","currency":"EUR","lines":[{{"account":"6100","debit":"800.00"}},{{"account":"2100","debit":"160.00"}},{{"account":"1100","credit":"900.00"}},{{"account":"2000","credit":"60.00"}}],"total":"960.00","posted_at":1790000000,"posted_by":"alice"}}"#,
        1 + n % 28
    )
}

fn records(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("keel.redb"), Limits::default()).unwrap();
    let ns = Namespace::new(TenantId::new("bench").unwrap(), PluginId::new("finance").unwrap());
    let collection = entries();
    let lane = [Lane::Tenant(TenantId::new("bench").unwrap())];
    let mut txn = storage.write(&lane).unwrap();
    for n in 0..DOCS {
        txn.insert(&ns, &collection, &format!("{n:020}"), &document(n)).unwrap();
    }
    txn.log_append("tenant/bench", 1, b"{}").unwrap();
    txn.commit().unwrap();

    c.bench_function("records/get", |b| {
        let read = storage.read().unwrap();
        b.iter(|| read.get(&ns, "entries", "00000000000000000500").unwrap().unwrap());
    });
    c.bench_function("records/scan-100", |b| {
        let read = storage.read().unwrap();
        b.iter(|| read.scan(&ns, "entries", &KeyRange::default(), None, 100).unwrap());
    });
    c.bench_function("records/put-indexed-x100", |b| {
        b.iter_batched(
            || storage.write(&lane).unwrap(),
            |mut txn| {
                for n in 0..100 {
                    txn.put(&ns, &collection, &format!("{n:020}"), &document(n + 1)).unwrap();
                }
                // Dropped outside the timing, rolled back: every
                // iteration writes the same.
                txn
            },
            BatchSize::PerIteration,
        );
    });
}

/// Ends a turn of ten indexed documents and its log entry, with or
/// without the tenant's quota held to; the commit is left to sync in the
/// background, so the figure is the turn's own work.
fn commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("keel.redb"), Limits::default()).unwrap();
    let ns = Namespace::new(TenantId::new("bench").unwrap(), PluginId::new("finance").unwrap());
    let collection = entries();
    let lane = [Lane::Tenant(TenantId::new("bench").unwrap())];
    let mut seq: u64 = 0;
    for quota in [None, Some(u64::MAX)] {
        let name = if quota.is_some() { "records/commit-x10-quota" } else { "records/commit-x10" };
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut txn = storage.write(&lane).unwrap();
                if let Some(quota) = quota {
                    txn.limit_stored(quota);
                }
                for n in 0..10 {
                    let key = format!("{:020}", seq * 10 + u64::from(n));
                    txn.put(&ns, &collection, &key, &document(n)).unwrap();
                }
                seq += 1;
                txn.log_append("tenant/bench", seq, b"{}").unwrap();
                txn.finish().unwrap()
            });
        });
    }
}

criterion_group!(benches, records, commit);
criterion_main!(benches);
