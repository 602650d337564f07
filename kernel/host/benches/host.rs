//! Micro-benchmarks of the host with the real finance plugin:
//! - `instantiate`: a fresh store and instance, dropped at once (the fixed
//!   cost of every call; `cargo xtask bench` reports it);
//! - `call/entries.get` and `call/entries.post`: whole calls in-process,
//!   without HTTP (the post includes its durable commit).
//!
//! Needs `target/plugins/finance.wasm` (`cargo xtask build-plugins`), or
//! `KEEL_PLUGINS_DIR`.

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use keel_host::{CallGuard, Host, HostConfig, Invocation, Plugin, PluginRequest};
use keel_manifest::Method;
use keel_storage::Storage;
use keel_types::{Limits, PluginId, RequestId, SystemClock, TenantId};

fn finance_wasm() -> Vec<u8> {
    let dir = std::env::var_os("KEEL_PLUGINS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins"),
        PathBuf::from,
    );
    let path = dir.join("finance.wasm");
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!("cannot read {}: {err}; run `cargo xtask build-plugins` first", path.display())
    })
}

struct Fixture {
    _dir: tempfile::TempDir,
    host: Host,
    plugin: Arc<Plugin>,
    tenant: TenantId,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage =
            Arc::new(Storage::open(&dir.path().join("keel.redb"), Limits::default()).unwrap());
        let config = HostConfig {
            limits: Limits::default(),
            cache_dir: dir.path().join("cache"),
            packages_dir: None,
            backups_dir: None,
            clock: Arc::new(SystemClock),
            data_keys: Arc::new(keel_host::DataKeys::new(&[[7; 32]]).unwrap()),
        };
        let host = Host::new(storage, config).unwrap();
        host.load(&finance_wasm()).unwrap();
        let tenant = TenantId::new("bench").unwrap();
        let origin = keel_audit::Origin::kernel(0);
        host.create_tenant(&origin, &tenant, "Bench").unwrap();
        let plugin = host.enable(&tenant, &PluginId::new("finance").unwrap()).unwrap();
        let fixture = Self { _dir: dir, host, plugin, tenant };
        fixture.call(
            "chart.load",
            Method::Post,
            "/chart-templates/starter",
            &[("template", "starter")],
            r#"{"currency":"EUR"}"#,
        );
        fixture.call("entries.post", Method::Post, "/entries", &[], ENTRY);
        fixture
    }

    fn call(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        body: &str,
    ) {
        let invocation = Invocation {
            tenant: self.tenant.clone(),
            caller: Some("bench".to_owned()),
            request_id: RequestId::generated(String::new()),
            roles: Vec::new(),
            source: None,
            operation: operation.to_owned(),
            method,
            request: PluginRequest {
                method: method.as_str().to_owned(),
                path: path.to_owned(),
                params: params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
                query: Vec::new(),
                body: body.as_bytes().to_vec(),
            },
            guard: CallGuard::default(),
            permissions: None,
            idempotency: None,
        };
        self.host.call(&self.plugin, invocation).unwrap();
    }
}

const ENTRY: &str = r#"{"date":"2026-11-10","memo":"Office rent","lines":[
    {"account":"6100","debit":"800.00"},{"account":"2100","debit":"160.00"},
    {"account":"1100","credit":"900.00"},{"account":"2000","credit":"60.00"}]}"#;

fn host(c: &mut Criterion) {
    let fixture = Fixture::new();
    c.bench_function("instantiate", |b| {
        b.iter(|| fixture.host.instantiate(&fixture.plugin, &fixture.tenant).unwrap());
    });
    let mut calls = c.benchmark_group("call");
    calls.bench_function("entries.get", |b| {
        b.iter(|| fixture.call("entries.get", Method::Get, "/entries/1", &[("number", "1")], ""));
    });
    calls.bench_function("entries.post", |b| {
        b.iter(|| fixture.call("entries.post", Method::Post, "/entries", &[], ENTRY));
    });
    calls.finish();
}

criterion_group!(benches, host);
criterion_main!(benches);
