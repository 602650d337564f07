//! Errors of loading packages and of calling plugins.

/// The host could not start: what it could not do, and why.
#[derive(Debug, thiserror::Error)]
#[error("plugin host failed to start: cannot {what}: {source}")]
pub struct HostError {
    what: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl HostError {
    /// The host could not do `what` (such as "link WASI") because of `source`.
    pub(crate) fn new(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self { what, source: source.into() }
    }
}

/// A package was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The bytes are not a WebAssembly component.
    #[error("package is not a valid WebAssembly component: {0}")]
    InvalidWasm(String),
    /// The component carries no `keel:manifest` section, or several.
    #[error(
        "package has {0} keel:manifest sections; exactly one is required (build it with keel_sdk::export_plugin!)"
    )]
    ManifestSections(usize),
    /// The manifest is malformed.
    #[error(transparent)]
    Manifest(#[from] keel_manifest::ManifestError),
    /// The contract (the `keel:contract` section) is malformed, or there
    /// are several.
    #[error(transparent)]
    Contract(#[from] keel_manifest::ContractError),
    /// The component does not implement the `keel:kernel/plugin` world.
    #[error("component does not match the keel:kernel/plugin@0.6.0 world: {0}")]
    World(String),
    /// The package could not be kept on disk.
    #[error("cannot keep the package at {}: {source}", path.display())]
    Keep {
        /// Where it was to be kept.
        path: std::path::PathBuf,
        /// Why it could not be.
        #[source]
        source: std::io::Error,
    },
    /// The install could not be audited, so it did not happen.
    #[error("cannot audit the install: {0}")]
    Unaudited(#[source] Box<CallError>),
    /// The same plugin id and version is loaded with different code.
    #[error("plugin {id} {version} is already loaded with a different digest")]
    Duplicate {
        /// The plugin id.
        id: String,
        /// Its version.
        version: String,
    },
}

/// The kind of failure a plugin reported itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginErrorKind {
    /// Malformed request: 400.
    BadRequest,
    /// A rule was broken: 422.
    Invalid,
    /// Not found: 404.
    NotFound,
    /// Conflict: 409.
    Conflict,
    /// Refused: 403.
    Denied,
    /// A limit was exceeded: 422.
    LimitExceeded,
    /// The plugin failed unexpectedly: 500.
    Internal,
}

/// Why a plugin call failed. Whatever the reason, nothing it wrote was kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The plugin returned an error.
    #[error("{message}")]
    Plugin {
        /// What kind of error.
        kind: PluginErrorKind,
        /// The plugin's message.
        message: String,
    },
    /// The plugin trapped (a panic, an unreachable, a stack overflow).
    #[error("plugin {plugin} trapped: {reason}")]
    Trap {
        /// The plugin id.
        plugin: String,
        /// The trap's description.
        reason: String,
    },
    /// The plugin ran past its CPU deadline and was stopped.
    #[error("plugin {plugin} exceeded its deadline of {deadline_ms} ms and was stopped")]
    Deadline {
        /// The plugin id.
        plugin: String,
        /// The deadline.
        deadline_ms: u128,
    },
    /// The plugin tried to grow its memory past the limit.
    #[error("plugin {plugin} exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        /// The plugin id.
        plugin: String,
        /// The limit.
        limit_bytes: usize,
    },
    /// The plugin answered something the kernel cannot send (a bad status, non-JSON, too large).
    #[error("plugin {plugin} returned an invalid response: {reason}")]
    BadResponse {
        /// The plugin id.
        plugin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The caller created the target document and may not act on it.
    #[error(
        "segregation of duties: {caller} created {collection}/{key} and may not {operation} it"
    )]
    NotByCreator {
        /// Who asked.
        caller: String,
        /// The operation refused.
        operation: String,
        /// The target's collection.
        collection: String,
        /// The target's key.
        key: String,
    },
    /// Segregation of duties cannot tell who created the target, so the
    /// operation is refused.
    #[error(
        "segregation of duties: who created {target} cannot be told ({why}), so {caller} may not {operation} it"
    )]
    CreatorUnknown {
        /// Who asked.
        caller: String,
        /// The operation refused.
        operation: String,
        /// The target: `collection/key`.
        target: String,
        /// Why not.
        why: String,
    },
    /// The request does not fit the schema the operation's contract
    /// declares; the plugin did not run.
    #[error("{}", describe_violations(.operation, .part, .violations))]
    Contract {
        /// The operation.
        operation: String,
        /// `body` or `query`.
        part: &'static str,
        /// Each value at fault, by JSON pointer.
        violations: Vec<keel_manifest::Violation>,
    },
    /// The caller gave up waiting; nothing was committed.
    #[error("the call was abandoned after its deadline; nothing was changed")]
    Abandoned,
    /// An idempotency key sent again with a different request.
    #[error(
        "idempotency key {key:?} was used for a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused {
        /// The key.
        key: String,
    },
    /// No instance slot is free; try again.
    #[error("too many concurrent plugin calls; retry shortly")]
    Busy,
    /// The guest memory of all calls running at once is in use; nothing
    /// was changed; try again.
    #[error(
        "the kernel's guest memory is in use by other calls; nothing was changed; retry shortly"
    )]
    GuestMemoryFull,
    /// The guest memory the tenant's calls may use at once is in use by
    /// its other calls; nothing was changed; try again.
    #[error(
        "the calls of tenant {tenant} running at once use its share of guest memory ({share_bytes} bytes); nothing was changed; retry shortly"
    )]
    TenantMemoryFull {
        /// The tenant.
        tenant: String,
        /// Its share.
        share_bytes: usize,
    },
    /// A storage limit of one call was passed (records or bytes written,
    /// a sequence exhausted); nothing was changed.
    #[error("{0}")]
    Limit(String),
    /// The call would leave its tenant storing more than its quota;
    /// nothing was changed.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Storage failed underneath the call.
    #[error("storage failed: {0}")]
    Storage(#[source] keel_storage::Error),
    /// The kernel failed otherwise: a record it cannot read, a thread that
    /// ended without an answer. Never the caller's fault.
    #[error("the kernel failed: {0}")]
    Internal(String),
}

/// Why a plugin could not be enabled for a tenant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnableError {
    /// The tenant does not exist.
    #[error("tenant {0} does not exist")]
    UnknownTenant(String),
    /// No package with this plugin id is loaded.
    #[error("plugin {0} is not installed")]
    UnknownPlugin(String),
    /// The installed package is older than the version the tenant already runs.
    #[error(
        "plugin {plugin} {loaded} is older than version {enabled} that tenant {tenant} already runs; install {enabled} or newer"
    )]
    Downgrade {
        /// The plugin id.
        plugin: String,
        /// The tenant.
        tenant: String,
        /// The newest loaded version.
        loaded: String,
        /// The version recorded as enabled.
        enabled: String,
    },
    /// The plugin requires a domain interface the tenant has no provider of.
    #[error(
        "plugin {plugin} requires {interface}, which no plugin enabled for tenant {tenant} provides; enable a provider of it first"
    )]
    MissingProvider {
        /// The plugin id.
        plugin: String,
        /// The tenant.
        tenant: String,
        /// The interface.
        interface: String,
    },
    /// The plugin provides a domain interface that enabled plugins use.
    #[error(
        "plugin {plugin} provides {interface} to {consumer} in tenant {tenant}; choose another provider or disable {consumer} first"
    )]
    InUse {
        /// The plugin id.
        plugin: String,
        /// The tenant.
        tenant: String,
        /// The interface.
        interface: String,
        /// A plugin that requires it.
        consumer: String,
    },
    /// Storage failed; nothing changed.
    #[error("storage failed: {0}")]
    Storage(#[source] keel_storage::Error),
    /// The record of the version the tenant runs cannot be read: the
    /// plugin is neither served nor migrated until it is repaired.
    #[error(
        "the record of which version of plugin {plugin} tenant {tenant} runs is unreadable ({reason}); audit verification names the damage; restore the data directory from a backup"
    )]
    Corrupt {
        /// The plugin id.
        plugin: String,
        /// The tenant.
        tenant: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// The plugin's `migrate` failed; nothing changed.
    #[error("migration of plugin {plugin} failed: {source}")]
    Migrate {
        /// The plugin id.
        plugin: String,
        /// The failure.
        source: Box<CallError>,
    },
}

/// Why a tenant's provider of a domain interface could not be chosen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChooseError {
    /// Not one of the domain interfaces this kernel knows.
    #[error("unknown interface {0:?}; this kernel knows {known}", known = keel_manifest::DOMAIN_INTERFACES.join(", "))]
    UnknownInterface(String),
    /// The plugin is not enabled for the tenant.
    #[error("plugin {plugin} is not enabled for tenant {tenant}; enable it first")]
    NotEnabled {
        /// The plugin id.
        plugin: String,
        /// The tenant.
        tenant: String,
    },
    /// The plugin's manifest does not provide the interface.
    #[error("plugin {plugin} does not provide {interface}")]
    DoesNotProvide {
        /// The plugin id.
        plugin: String,
        /// The interface.
        interface: String,
    },
    /// Storage failed; nothing changed.
    #[error("storage failed: {0}")]
    Storage(#[source] keel_storage::Error),
}

/// Why a dead letter could not be replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// No such dead letter.
    #[error("dead letter {0} does not exist")]
    NotFound(String),
    /// Its subscriber is not enabled for the tenant.
    #[error("plugin {0} is not enabled; enable it before replaying its dead letters")]
    NotEnabled(String),
    /// The subscriber failed again; the dead letter stays, with this error.
    #[error("the delivery failed again: {0}")]
    Failed(CallError),
    /// The webhook refused it again, or could not be reached; the dead
    /// letter stays, with this error.
    #[error("the delivery failed again: {0}")]
    WebhookFailed(String),
    /// Its webhook was deleted, or this kernel delivers no webhooks.
    #[error("{0}")]
    NoWebhook(String),
    /// The dead letter cannot be replayed as stored: its event is missing
    /// or unreadable. Nothing changed.
    #[error("{0}")]
    Internal(String),
    /// Storage failed; nothing changed.
    #[error("storage failed: {0}")]
    Storage(#[source] keel_storage::Error),
}

/// "the body of entries.post does not fit its schema: /date: …; /lines: …".
fn describe_violations(
    operation: &str,
    part: &str,
    violations: &[keel_manifest::Violation],
) -> String {
    let each: Vec<String> = violations.iter().map(ToString::to_string).collect();
    format!("the {part} of {operation} does not fit its schema: {}", each.join("; "))
}
