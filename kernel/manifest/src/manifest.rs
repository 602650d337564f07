//! The manifest document and its validation.

use std::collections::HashSet;

use keel_types::schema::{CollectionDef, check_name};
use keel_types::{IdError, PluginId};

use crate::import::{IMPORTS_MAX, Import};
use crate::path::PathPattern;
use crate::report::{REPORTABLE_MAX, Reportable};
use crate::schedule::{SCHEDULES_MAX, Schedule};

/// The plugin world this kernel hosts; a manifest must target it.
pub const WORLD: &str = "keel:kernel/plugin@0.6.0";

/// The domain interfaces a plugin may provide to others or require from
/// them (`keel:erp`, in `wit/erp/`).
pub const DOMAIN_INTERFACES: [&str; 3] =
    ["keel:erp/ledger@0.3.0", "keel:erp/stock@0.3.0", "keel:erp/directory@0.3.0"];

/// Most topics a manifest may publish, and subscribe to.
const TOPICS_MAX: usize = 64;
/// Longest event topic, in bytes.
const TOPIC_BYTES_MAX: usize = 128;

/// Checks an event topic: `<plugin id>.<name>`, where the name is 1 or more
/// of `a-z`, `0-9`, `-` and `.`, at most 128 bytes in all.
pub fn check_topic(topic: &str) -> Result<(), String> {
    let Some((plugin, name)) = topic.split_once('.') else {
        return Err("a topic is `<plugin id>.<name>`".to_owned());
    };
    PluginId::new(plugin).map_err(|err| format!("its plugin part: {err}"))?;
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
    if name.is_empty() || topic.len() > TOPIC_BYTES_MAX || !name.bytes().all(allowed) {
        return Err(format!(
            "the name after the plugin id must be 1 or more of a-z, 0-9, '-' and '.', and the topic at most {TOPIC_BYTES_MAX} bytes"
        ));
    }
    Ok(())
}

/// Bounds on what a manifest may declare.
const OPERATIONS_MAX: usize = 256;
const COLLECTIONS_MAX: usize = 64;
const INDEXES_PER_COLLECTION_MAX: usize = 16;
const TEXT_BYTES_MAX: usize = 1024;
/// Role ids the kernel defines itself, which no plugin may redefine.
const RESERVED_ROLES: [&str; 3] = ["admin", "auditor", "platform-admin"];

/// Plugin ids the kernel keeps for itself besides the first parts of its
/// audit actions (`keel_types::action::reserves`): a plugin's business
/// records read `<plugin id>.<action>`, so a plugin called `record` could
/// otherwise write what looks like the kernel's `record.put`. `jobs`,
/// `imports` and `reports` are the kernel's `/api/{tenant}/…`.
const RESERVED_PLUGIN_IDS: [&str; 6] = ["kernel", "keel", "platform", "jobs", "imports", "reports"];
/// Largest manifest accepted, in bytes.
pub const MANIFEST_BYTES_MAX: usize = 256 * 1024;

/// Why a manifest was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The text is not valid TOML for the manifest's schema.
    #[error("manifest is not valid: {0}")]
    Syntax(String),
    /// An identifier in the manifest is malformed.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The manifest is well-formed but inconsistent.
    #[error("manifest of plugin {plugin:?} is not valid: {reason}")]
    Rule {
        /// The plugin id as declared.
        plugin: String,
        /// What is wrong.
        reason: String,
    },
}

/// An HTTP method an operation can be routed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Reads; runs on a read snapshot and may not write.
    Get,
    /// Creates or acts; runs in a write transaction.
    Post,
    /// Replaces; runs in a write transaction.
    Put,
    /// Updates part; runs in a write transaction.
    Patch,
    /// Removes; runs in a write transaction.
    Delete,
}

impl Method {
    /// Parses an HTTP method name (upper case).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            _ => return None,
        })
    }

    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Whether operations with this method run in a write transaction.
    pub fn writes(self) -> bool {
        self != Self::Get
    }
}

/// A permission a plugin defines, such as `finance.journal.post`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    /// Dotted id, starting with the plugin id.
    pub id: String,
    /// What holding it allows, for administrators.
    #[serde(default)]
    pub description: String,
}

/// A role a plugin suggests, bundling some of its permissions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// The role's id, such as `accountant`.
    pub id: String,
    /// What the role is for.
    #[serde(default)]
    pub description: String,
    /// Permissions the role grants; each declared in `permissions`.
    pub permissions: Vec<String>,
}

/// One HTTP operation the plugin serves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The id passed to the plugin's `handle`, such as `entries.post`.
    pub id: String,
    /// The HTTP method.
    pub method: Method,
    /// The path pattern below `/api/{tenant}/{plugin}`, such as `/entries/{number}`.
    pub path: PathPattern,
    /// The permission a caller needs; operations without one cannot be declared.
    pub permission: String,
    /// One line for the API documentation.
    #[serde(default)]
    pub summary: String,
    /// Segregation of duties: the caller may not be the one named in the
    /// target document (an approver may not approve their own order).
    #[serde(default)]
    pub not_by_creator: Option<CreatorRule>,
    /// How the kernel renders its answer as CSV, if it can.
    #[serde(default)]
    pub export: Option<crate::export::Export>,
    /// A background job: calling it answers 202 with a job id, and the
    /// kernel runs it in steps (the plugin's `run-step`), each in a
    /// transaction of its own, as the caller.
    #[serde(default)]
    pub job: bool,
    /// A list, a page at a time by the rule of every list: `?limit=` (1 to
    /// 1000, 100 by default) and `?cursor=`, documented as such.
    #[serde(default)]
    pub paged: bool,
}

/// Where an operation finds the principal who created its target document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatorRule {
    /// The collection of the target document.
    pub collection: String,
    /// The path parameter holding the document's key.
    pub param: String,
    /// The document field naming its creator, such as `created_by`.
    pub field: keel_types::schema::FieldPath,
}

/// A validated plugin manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's id, also its URL segment.
    pub id: PluginId,
    /// The plugin's version, `MAJOR.MINOR.PATCH`.
    pub version: String,
    /// The WIT world the plugin targets; must be [`WORLD`].
    pub world: String,
    /// A human name.
    #[serde(default)]
    pub name: String,
    /// What the plugin does.
    #[serde(default)]
    pub description: String,
    /// Permissions the plugin defines.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Roles the plugin suggests.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Collections the plugin stores documents in.
    #[serde(default)]
    pub collections: Vec<CollectionDef>,
    /// HTTP operations the plugin serves.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Domain interfaces the plugin exports for other plugins, such as
    /// `keel:erp/ledger@0.3.0`.
    #[serde(default)]
    pub provides: Vec<String>,
    /// Domain interfaces the plugin calls; each tenant that enables it must
    /// have chosen a provider for every one.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Event topics the plugin publishes, each `<plugin id>.<name>`.
    #[serde(default)]
    pub publishes: Vec<String>,
    /// Event topics the plugin receives through `deliver`.
    #[serde(default)]
    pub subscribes: Vec<String>,
    /// Operations the kernel calls on a timetable, for each tenant that
    /// has the plugin enabled.
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    /// Files the kernel may import into the plugin, each row through one
    /// of its operations.
    #[serde(default)]
    pub imports: Vec<Import>,
    /// Collections opened to the tenant's custom reports, each behind a
    /// permission.
    #[serde(default)]
    pub reportable: Vec<Reportable>,
}

impl Manifest {
    /// Parses and validates a manifest from TOML text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        if text.len() > MANIFEST_BYTES_MAX {
            return Err(ManifestError::Syntax(format!(
                "manifest is {} bytes; the limit is {MANIFEST_BYTES_MAX}",
                text.len()
            )));
        }
        let manifest: Manifest =
            toml::from_str(text).map_err(|err| ManifestError::Syntax(err.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The collection named `name`, if declared.
    pub fn collection(&self, name: &str) -> Option<&CollectionDef> {
        self.collections.iter().find(|c| c.name == name)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let rule = |reason: String| ManifestError::Rule { plugin: self.id.to_string(), reason };
        if self.world != WORLD {
            return Err(rule(format!(
                "targets world {:?}; this kernel hosts {WORLD:?}",
                self.world
            )));
        }
        if RESERVED_PLUGIN_IDS.contains(&self.id.as_str())
            || keel_types::action::reserves(self.id.as_str())
        {
            return Err(rule(format!(
                "plugin id {:?} is reserved by the kernel; choose another id",
                self.id.as_str()
            )));
        }
        if !is_semver(&self.version) {
            return Err(rule(format!("version {:?} is not MAJOR.MINOR.PATCH", self.version)));
        }
        for text in [&self.name, &self.description] {
            if text.len() > TEXT_BYTES_MAX {
                return Err(rule(format!(
                    "name and description are limited to {TEXT_BYTES_MAX} bytes"
                )));
            }
        }
        let permissions = self.validate_permissions().map_err(rule)?;
        self.validate_collections().map_err(rule)?;
        self.validate_operations(&permissions).map_err(rule)?;
        self.validate_interfaces().map_err(rule)?;
        self.validate_topics().map_err(rule)?;
        self.validate_schedules().map_err(rule)?;
        self.validate_imports().map_err(rule)?;
        self.validate_reportable(&permissions).map_err(rule)
    }

    /// The reportable source declared as `id`.
    pub fn reportable(&self, id: &str) -> Option<&Reportable> {
        self.reportable.iter().find(|source| source.id == id)
    }

    fn validate_reportable(&self, permissions: &HashSet<&str>) -> Result<(), String> {
        if self.reportable.len() > REPORTABLE_MAX {
            return Err(format!("at most {REPORTABLE_MAX} reportable sources may be declared"));
        }
        let mut ids = HashSet::new();
        for source in &self.reportable {
            source.validate()?;
            let what = format!("reportable {:?}", source.id);
            if !ids.insert(source.id.as_str()) {
                return Err(format!("{what} is declared twice"));
            }
            if self.collection(&source.collection).is_none() {
                return Err(format!(
                    "{what} reads collection {:?}, which the manifest does not declare",
                    source.collection
                ));
            }
            if !permissions.contains(source.permission.as_str()) {
                return Err(format!(
                    "{what} asks for permission {:?}, which the manifest does not declare",
                    source.permission
                ));
            }
        }
        Ok(())
    }

    /// The import declared as `id`.
    pub fn import(&self, id: &str) -> Option<&Import> {
        self.imports.iter().find(|import| import.id == id)
    }

    fn validate_imports(&self) -> Result<(), String> {
        if self.imports.len() > IMPORTS_MAX {
            return Err(format!("at most {IMPORTS_MAX} imports may be declared"));
        }
        let mut ids = HashSet::new();
        for import in &self.imports {
            import.validate()?;
            if !ids.insert(import.id.as_str()) {
                return Err(format!("import {:?} is declared twice", import.id));
            }
            let what = format!("import {:?}", import.id);
            let Some(op) = self.operation(&import.operation) else {
                return Err(format!(
                    "{what} calls operation {:?}, which the manifest does not declare",
                    import.operation
                ));
            };
            if !op.method.writes() || op.path.params().next().is_some() || op.job {
                return Err(format!(
                    "{what} calls {:?}: an import calls an operation that may write, has no path parameters and is not a job",
                    op.id
                ));
            }
        }
        Ok(())
    }

    /// The operation declared as `id`.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }

    fn validate_schedules(&self) -> Result<(), String> {
        if self.schedules.len() > SCHEDULES_MAX {
            return Err(format!("at most {SCHEDULES_MAX} schedules may be declared"));
        }
        let mut ids = HashSet::new();
        for schedule in &self.schedules {
            schedule.validate()?;
            if !ids.insert(schedule.id.as_str()) {
                return Err(format!("schedule {:?} is declared twice", schedule.id));
            }
            let what = format!("schedule {:?}", schedule.id);
            let Some(op) = self.operation(&schedule.operation) else {
                return Err(format!(
                    "{what} calls operation {:?}, which the manifest does not declare",
                    schedule.operation
                ));
            };
            if !op.method.writes() {
                return Err(format!(
                    "{what} calls {:?}, a GET operation: a scheduled operation is one that may write (POST, PUT, PATCH or DELETE)",
                    op.id
                ));
            }
            if op.path.params().next().is_some() {
                return Err(format!(
                    "{what} calls {:?}, whose path {} has parameters the kernel cannot fill",
                    op.id, op.path
                ));
            }
            if op.job {
                return Err(format!(
                    "{what} calls {:?}, a job: a scheduled run is one call and cannot start a job; schedule an operation without `job`",
                    op.id
                ));
            }
        }
        Ok(())
    }

    /// Whether the plugin declares that it publishes `topic`.
    pub fn publishes(&self, topic: &str) -> bool {
        self.publishes.iter().any(|t| t == topic)
    }

    /// Whether the plugin declares that it subscribes to `topic`.
    pub fn subscribes(&self, topic: &str) -> bool {
        self.subscribes.iter().any(|t| t == topic)
    }

    fn validate_topics(&self) -> Result<(), String> {
        for (what, list) in [("publishes", &self.publishes), ("subscribes", &self.subscribes)] {
            if list.len() > TOPICS_MAX {
                return Err(format!("{what} lists more than {TOPICS_MAX} topics"));
            }
            let mut seen = HashSet::new();
            for topic in list {
                check_topic(topic).map_err(|reason| format!("{what} {topic:?}: {reason}"))?;
                if !seen.insert(topic) {
                    return Err(format!("{what} lists {topic:?} twice"));
                }
            }
        }
        let own = format!("{}.", self.id);
        if let Some(foreign) = self.publishes.iter().find(|t| !t.starts_with(&own)) {
            return Err(format!(
                "publishes {foreign:?}: a plugin publishes only topics starting with {own:?}"
            ));
        }
        Ok(())
    }

    /// Whether the plugin declares that it requires `interface`.
    pub fn requires(&self, interface: &str) -> bool {
        self.requires.iter().any(|i| i == interface)
    }

    /// Whether the plugin declares that it provides `interface`.
    pub fn provides(&self, interface: &str) -> bool {
        self.provides.iter().any(|i| i == interface)
    }

    fn validate_interfaces(&self) -> Result<(), String> {
        for (what, list) in [("provides", &self.provides), ("requires", &self.requires)] {
            let mut seen = HashSet::new();
            for interface in list {
                if !DOMAIN_INTERFACES.contains(&interface.as_str()) {
                    return Err(format!(
                        "{what} unknown interface {interface:?}; this kernel knows {}",
                        DOMAIN_INTERFACES.join(", ")
                    ));
                }
                if !seen.insert(interface) {
                    return Err(format!("{what} lists {interface:?} twice"));
                }
            }
        }
        if let Some(both) = self.provides.iter().find(|i| self.requires(i)) {
            return Err(format!("provides and requires {both:?}: a plugin cannot call itself"));
        }
        Ok(())
    }

    fn validate_permissions(&self) -> Result<HashSet<&str>, String> {
        let prefix = format!("{}.", self.id);
        let mut ids = HashSet::new();
        for permission in &self.permissions {
            let id = permission.id.as_str();
            let well_formed = id.starts_with(&prefix)
                && id.split('.').all(|part| check_name("permission segment", part).is_ok());
            if !well_formed {
                return Err(format!(
                    "permission {id:?} must be dotted segments of a-z, 0-9 and '-', starting with {prefix:?}"
                ));
            }
            if !ids.insert(id) {
                return Err(format!("permission {id:?} is declared twice"));
            }
        }
        let mut roles = HashSet::new();
        for role in &self.roles {
            check_name("role id", &role.id).map_err(|err| err.to_string())?;
            if RESERVED_ROLES.contains(&role.id.as_str()) {
                return Err(format!(
                    "role {:?} is built into the kernel; choose another id",
                    role.id
                ));
            }
            if !roles.insert(role.id.as_str()) {
                return Err(format!("role {:?} is declared twice", role.id));
            }
            if let Some(unknown) = role.permissions.iter().find(|p| !ids.contains(p.as_str())) {
                return Err(format!("role {:?} grants undeclared permission {unknown:?}", role.id));
            }
        }
        Ok(ids)
    }

    fn validate_collections(&self) -> Result<(), String> {
        if self.collections.len() > COLLECTIONS_MAX {
            return Err(format!("at most {COLLECTIONS_MAX} collections may be declared"));
        }
        let mut names = HashSet::new();
        for collection in &self.collections {
            check_name("collection name", &collection.name).map_err(|err| err.to_string())?;
            if !names.insert(collection.name.as_str()) {
                return Err(format!("collection {:?} is declared twice", collection.name));
            }
            if collection.indexes.len() > INDEXES_PER_COLLECTION_MAX {
                return Err(format!(
                    "collection {:?} declares more than {INDEXES_PER_COLLECTION_MAX} indexes",
                    collection.name
                ));
            }
            if collection.sensitive && !collection.indexes.is_empty() {
                return Err(format!(
                    "collection {:?} is sensitive, so it is sealed at rest and cannot be indexed \
                     (an index keeps its values in plain text); key its documents by what they \
                     are looked up by, or index another collection",
                    collection.name
                ));
            }
            let mut indexes = HashSet::new();
            for index in &collection.indexes {
                check_name("index name", &index.name).map_err(|err| err.to_string())?;
                if !indexes.insert(index.name.as_str()) {
                    return Err(format!(
                        "index {:?} of collection {:?} is declared twice",
                        index.name, collection.name
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_operations(&self, permissions: &HashSet<&str>) -> Result<(), String> {
        if self.operations.len() > OPERATIONS_MAX {
            return Err(format!("at most {OPERATIONS_MAX} operations may be declared"));
        }
        let mut ids = HashSet::new();
        let mut shapes = HashSet::new();
        for op in &self.operations {
            let valid_id = !op.id.is_empty()
                && op.id.len() <= 128
                && op
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
            if !valid_id {
                return Err(format!(
                    "operation id {:?} must be 1 to 128 bytes of a-z, 0-9, '-', '_', '.'",
                    op.id
                ));
            }
            if !ids.insert(op.id.as_str()) {
                return Err(format!("operation {:?} is declared twice", op.id));
            }
            if !permissions.contains(op.permission.as_str()) {
                return Err(format!(
                    "operation {:?} requires permission {:?}, which the manifest does not declare",
                    op.id, op.permission
                ));
            }
            if let Some(rule) = &op.not_by_creator {
                let Some(collection) = self.collection(&rule.collection) else {
                    return Err(format!(
                        "operation {:?}: not_by_creator names undeclared collection {:?}",
                        op.id, rule.collection
                    ));
                };
                if collection.sensitive {
                    return Err(format!(
                        "operation {:?}: not_by_creator names sensitive collection {:?}, whose \
                         documents are sealed at rest: check who created it in the plugin",
                        op.id, rule.collection
                    ));
                }
                if !op.path.params().any(|p| p == rule.param) {
                    return Err(format!(
                        "operation {:?}: not_by_creator names {:?}, which is not a parameter of {}",
                        op.id, rule.param, op.path
                    ));
                }
            }
            if op.summary.len() > TEXT_BYTES_MAX {
                return Err(format!("summary of operation {:?} is too long", op.id));
            }
            if let Some(export) = &op.export {
                if op.method != Method::Get {
                    return Err(format!("operation {:?}: only a GET operation is exported", op.id));
                }
                export.validate().map_err(|err| format!("operation {:?}: {err}", op.id))?;
            }
            if op.paged && op.method != Method::Get {
                return Err(format!(
                    "operation {:?} is paged, so it must be a GET that lists, not {}",
                    op.id,
                    op.method.as_str()
                ));
            }
            if op.job {
                if !op.method.writes() {
                    return Err(format!(
                        "operation {:?} is a job, so it must be one that may write (POST, PUT, PATCH or DELETE), not GET",
                        op.id
                    ));
                }
                if op.not_by_creator.is_some() {
                    return Err(format!(
                        "operation {:?} is a job and cannot name not_by_creator: the kernel reads no document before a job starts",
                        op.id
                    ));
                }
            }
            if !shapes.insert((op.method, op.path.shape())) {
                return Err(format!(
                    "operation {:?} has the same method and path shape as another: {} {}",
                    op.id,
                    op.method.as_str(),
                    op.path
                ));
            }
        }
        Ok(())
    }
}

fn is_semver(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 9
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}
