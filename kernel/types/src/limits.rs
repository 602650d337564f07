//! Every bound the kernel enforces, in one place, with its default.

use std::time::Duration;

/// Limits on requests, plugin calls and stored data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest HTTP request body accepted, in bytes.
    pub request_body_bytes_max: usize,
    /// Largest plugin package accepted for upload, in bytes.
    pub package_bytes_max: usize,
    /// Most guest memory one call may use, in bytes: all the linear
    /// memories of its instance and of the providers it calls, together.
    pub memory_bytes_max: usize,
    /// Most guest memory all calls running at once may use, in bytes: a
    /// call that would pass it fails as busy (503) and frees what it held.
    pub guest_memory_total_bytes: usize,
    /// Most guest memory one tenant's calls running at once may use, in
    /// bytes (half the kernel's by default): what is left stays for the
    /// other tenants. A call past it fails as busy (503).
    pub guest_memory_tenant_bytes: usize,
    /// Wall-clock budget for one plugin call, enforced by epoch interruption.
    pub call_deadline: Duration,
    /// How often the epoch advances: a looping call stops within one tick past its deadline.
    pub epoch_tick: Duration,
    /// Largest stored document, in bytes.
    pub record_bytes_max: usize,
    /// Longest document key, in bytes.
    pub key_bytes_max: usize,
    /// Most entries returned by one scan or lookup.
    pub page_entries_max: u32,
    /// Most records a single call may write.
    pub writes_per_call_max: u32,
    /// Most document bytes a single call may write.
    pub bytes_written_per_call_max: usize,
    /// A scan or lookup page ends early once its documents reach this many bytes.
    pub page_bytes_max: usize,
    /// Largest response body a plugin may return, in bytes.
    pub response_body_bytes_max: usize,
    /// Plugin instances that may run at the same time.
    pub instances_max: u32,
    /// Plugin calls one tenant may have in flight (running or queued for
    /// its turn) at the same time: what is left of the instance slots
    /// stays for other tenants.
    pub calls_per_tenant_max: u32,
    /// Most events a single call may publish.
    pub events_per_call_max: u32,
    /// Largest event payload, in bytes.
    pub event_payload_bytes_max: usize,
    /// Deliveries of one event to one subscriber before it goes to the
    /// dead letters.
    pub event_attempts_max: u32,
    /// The wait before the first retry of a failed delivery; each further
    /// retry waits twice as long, up to [`Limits::event_retry_max`].
    pub event_retry_base: Duration,
    /// The longest wait between two attempts of a delivery.
    pub event_retry_max: Duration,
    /// Most bytes one tenant may store (documents, index entries, its
    /// kernel records and its audit chain), unless its tenant record sets
    /// its own quota: a call that would store more fails (507) and
    /// changes nothing, so one tenant cannot fill the disk the others share.
    pub tenant_storage_bytes_max: u64,
    /// How long an event every subscriber has is kept (and its key
    /// deduplicated) before pruning removes it.
    pub event_retention: Duration,
    /// Most documents a custom report reads while its caller waits; one
    /// that reads more goes on in the background and is fetched when done.
    pub report_inline_documents_max: u64,
    /// Most rows an import runs while its caller waits, all or nothing; a
    /// larger file (or one asked for with `?background=true`) runs as a
    /// background job, a part of [`Limits::import_part_rows`] rows at a time.
    pub import_inline_rows_max: usize,
    /// Most rows of a file one part of a background import runs, in one
    /// write turn of its tenant's lane that keeps them all or none.
    pub import_part_rows: usize,
    /// How long one turn of a background import goes on starting calls:
    /// past it, the rest of its part waits for the next turn, so a turn
    /// holds its tenant's lane about this long (and one call's deadline
    /// at most more), however slow the calls.
    pub import_part_turn: Duration,
    /// Backups kept in the backups directory: after each new one, the
    /// oldest beyond this many are removed.
    pub backups_keep: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_body_bytes_max: 1024 * 1024,
            package_bytes_max: 32 * 1024 * 1024,
            memory_bytes_max: 64 * 1024 * 1024,
            guest_memory_total_bytes: 4 * 1024 * 1024 * 1024,
            guest_memory_tenant_bytes: 2 * 1024 * 1024 * 1024,
            call_deadline: Duration::from_secs(5),
            epoch_tick: Duration::from_millis(10),
            record_bytes_max: 256 * 1024,
            key_bytes_max: 512,
            page_entries_max: 1000,
            writes_per_call_max: 10_000,
            bytes_written_per_call_max: 64 * 1024 * 1024,
            page_bytes_max: 4 * 1024 * 1024,
            response_body_bytes_max: 8 * 1024 * 1024,
            instances_max: 256,
            calls_per_tenant_max: 128,
            events_per_call_max: 64,
            event_payload_bytes_max: 64 * 1024,
            event_attempts_max: 5,
            event_retry_base: Duration::from_secs(1),
            event_retry_max: Duration::from_secs(300),
            event_retention: Duration::from_secs(7 * 24 * 60 * 60),
            report_inline_documents_max: 20_000,
            import_inline_rows_max: 10_000,
            import_part_rows: 500,
            import_part_turn: Duration::from_secs(2),
            backups_keep: 48,
            tenant_storage_bytes_max: 10 * 1024 * 1024 * 1024,
        }
    }
}
