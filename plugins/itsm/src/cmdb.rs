//! The configuration database as served: tenant classes with typed
//! attributes beside the built-in ones, items, relations checked by the
//! classes of their ends, and impact analysis walking the relations from a
//! failed item, bounded in depth and size.

use std::collections::BTreeMap;

use keel_sdk::contract::JsonSchema;
use keel_sdk::{Collection, Error, Range, Request, Response, Result, context};
use serde::{Deserialize, Serialize};

use crate::rules::cmdb::{self, BUILT_IN, Class, Impact, RelationKind};

const CLASSES: Collection<Class> = Collection::new("ci-classes");
const ITEMS: Collection<Item> = Collection::new("cis");
const RELATIONS: Collection<Relation> = Collection::new("ci-relations");
/// Most attributes an item of a built-in class states.
const FREE_ATTRIBUTES_MAX: usize = 50;
/// The deepest and widest an impact walk may be asked to go.
const DEPTH_MAX: usize = 10;
const SIZE_MAX: usize = 1000;
/// Most relations an impact walk reads from one item, and in all.
const FAN_MAX: u32 = 500;
const READS_MAX: u32 = 10_000;

/// A configuration item.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Item {
    pub id: String,
    /// A built-in class or the tenant's.
    pub class: String,
    pub name: String,
    /// By name: text, numbers as decimal strings, dates, or flags.
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Unix seconds.
    pub updated_at: i64,
}

/// How one configuration item relates to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Relation {
    /// An item, by id.
    from: String,
    kind: RelationKind,
    /// An item, by id.
    to: String,
}

fn item(id: &str) -> Result<Item> {
    ITEMS
        .get(id)?
        .ok_or_else(|| Error::not_found(format!("configuration item {id} does not exist")))
}

/// Checks that item `id` exists.
pub(crate) fn expect_item(id: &str) -> Result<()> {
    item(id)
        .map(drop)
        .map_err(|_| Error::invalid(format!("configuration item {id} does not exist")))
}

/// Checks that `id` is a service.
pub(crate) fn expect_service(id: &str) -> Result<()> {
    let found = ITEMS.get(id)?;
    match found {
        Some(item) if item.class == cmdb::SERVICE => Ok(()),
        Some(item) => Err(Error::invalid(format!("{id} is a {}, not a service", item.class))),
        None => Err(Error::invalid(format!("service {id} does not exist"))),
    }
}

/// Checks that `class` is built in or the tenant's.
pub(crate) fn expect_class(class: &str) -> Result<()> {
    if BUILT_IN.contains(&class) || CLASSES.get(class)?.is_some() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "class {class} does not exist; the built-in classes are {}",
        BUILT_IN.join(", ")
    )))
}

/// What became of an asset to register.
pub(crate) enum Registered {
    New,
    /// Registered before (an event delivered again).
    Already,
    /// Its class wants what a receipt does not say: why.
    Unfit(String),
}

/// Registers an asset received through procurement as an item of
/// `class`, with `attributes` (those a tenant class does not declare left
/// out).
pub(crate) fn register_asset(
    id: &str,
    class: &str,
    name: &str,
    mut attributes: BTreeMap<String, serde_json::Value>,
) -> Result<Registered> {
    if ITEMS.get(id)?.is_some() {
        return Ok(Registered::Already);
    }
    if !BUILT_IN.contains(&class) {
        let Some(def) = CLASSES.get(class)? else {
            return Ok(Registered::Unfit(format!("class {class} does not exist")));
        };
        attributes.retain(|name, _| def.attributes.contains_key(name));
        if let Err(err) = def.check_item(&attributes) {
            return Ok(Registered::Unfit(err.to_string()));
        }
    }
    let item = Item {
        id: id.to_owned(),
        class: class.to_owned(),
        name: name.to_owned(),
        attributes,
        updated_at: context::now_seconds(),
    };
    ITEMS.insert(id, &item)?;
    Ok(Registered::New)
}

/// `PUT /ci-classes/{name}`: a tenant's own class and its attributes.
pub(crate) fn put_class(request: &Request) -> Result<Response> {
    let class: Class = request.json()?;
    if class.name != request.param("name")? {
        return Err(Error::invalid("the path and the body name different classes"));
    }
    class.check()?;
    CLASSES.put(&class.name, &class)?;
    Response::ok(&class)
}

/// A configuration item, as registered or replaced.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewItem {
    /// A built-in class or the tenant's; an item keeps its class.
    class: String,
    /// 1 to 200 bytes.
    name: String,
    /// By name: for a built-in class up to 50, each text (at most 1,000
    /// bytes) or a flag; for a tenant's class, as it declares.
    #[serde(default)]
    attributes: BTreeMap<String, serde_json::Value>,
}

/// `PUT /cis/{id}`: an item of a built-in class (with up to 50 attributes
/// of text, numbers as decimal strings, or flags) or of a tenant's class
/// (checked against it).
pub(crate) fn put_item(request: &Request) -> Result<Response> {
    let id = request.param("id")?;
    cmdb::check_item_id(id)?;
    let new: NewItem = request.json()?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.len() > 200 {
        return Err(Error::invalid("an item's name is 1 to 200 bytes"));
    }
    if BUILT_IN.contains(&new.class.as_str()) {
        let fits =
            |v: &serde_json::Value| v.is_boolean() || v.as_str().is_some_and(|t| t.len() <= 1000);
        if new.attributes.len() > FREE_ATTRIBUTES_MAX || !new.attributes.values().all(fits) {
            return Err(Error::invalid(format!(
                "an item of class {} states at most {FREE_ATTRIBUTES_MAX} attributes, each \
                 text of at most 1000 bytes or a flag",
                new.class
            )));
        }
    } else {
        let class = CLASSES.get(&new.class)?.ok_or_else(|| {
            Error::invalid(format!(
                "class {} does not exist; the built-in classes are {}",
                new.class,
                BUILT_IN.join(", ")
            ))
        })?;
        class.check_item(&new.attributes)?;
    }
    if let Some(kept) = ITEMS.get(id)?
        && kept.class != new.class
    {
        return Err(Error::conflict(format!(
            "{id} is a {}; an item keeps its class (register a new one)",
            kept.class
        )));
    }
    let item = Item {
        id: id.to_owned(),
        class: new.class,
        name,
        attributes: new.attributes,
        updated_at: context::now_seconds(),
    };
    ITEMS.put(id, &item)?;
    Response::ok(&item)
}

/// `GET /cis/{id}`: with its relations both ways.
pub(crate) fn get_item(request: &Request) -> Result<Response> {
    let item = item(request.param("id")?)?;
    let from = RELATIONS.lookup("by-from", &Range::exactly(item.id.clone()), None, FAN_MAX)?;
    let to = RELATIONS.lookup("by-to", &Range::exactly(item.id.clone()), None, FAN_MAX)?;
    let relations = from.items.into_iter().chain(to.items).map(|(_, relation)| relation).collect();
    Response::ok(&ItemDetail { item, relations })
}

/// A configuration item with its relations both ways.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ItemDetail {
    item: Item,
    relations: Vec<Relation>,
}

/// A page of configuration items.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ItemPage {
    items: Vec<Item>,
    /// Where the next page starts; null on the last.
    cursor: Option<String>,
}

/// `GET /cis?class=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct ItemsQuery {
    /// Only items of this class.
    class: Option<String>,
}

/// `GET /cis/{id}/impact?depth=&size=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct ImpactQuery {
    /// How many relations away to walk, 1 to 10; 5 without it.
    #[schemars(range(min = 1, max = DEPTH_MAX))]
    depth: Option<u32>,
    /// How many items to list at most, 1 to 1,000; 200 without it.
    #[schemars(range(min = 1, max = SIZE_MAX))]
    size: Option<u32>,
}

/// What a configuration item failing takes down.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ImpactAnswer {
    /// The failed item, by id.
    failed: String,
    impact: Impact,
}

/// `GET /cis`: by `class`, or all.
pub(crate) fn list_items(request: &Request) -> Result<Response> {
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let page = match request.query("class") {
        Some(class) => ITEMS.lookup("by-class", &Range::exactly(class), cursor, limit)?,
        None => ITEMS.scan(&Range::all(), cursor, limit)?,
    };
    let items = page.items.into_iter().map(|(_, i)| i).collect();
    Response::ok(&ItemPage { items, cursor: page.cursor })
}

/// `POST /ci-relations`: `from` runs on, depends on, or is connected to
/// `to`, as their classes allow.
pub(crate) fn put_relation(request: &Request) -> Result<Response> {
    let relation: Relation = request.json()?;
    let (from, to) = (item(&relation.from)?, item(&relation.to)?);
    cmdb::check_relation((&from.id, &from.class), relation.kind, (&to.id, &to.class))?;
    let kind = serde_json::to_value(relation.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    RELATIONS.put(&format!("{}/{kind}/{}", relation.from, relation.to), &relation)?;
    Response::created(&relation)
}

/// `GET /cis/{id}/impact?depth=&size=`: what `id` failing takes down,
/// nearest first, and of those the services.
pub(crate) fn impact(request: &Request) -> Result<Response> {
    let failed = item(request.param("id")?)?;
    let depth: usize = request.query_as("depth")?.unwrap_or(5);
    let size: usize = request.query_as("size")?.unwrap_or(200);
    if !(1..=DEPTH_MAX).contains(&depth) || !(1..=SIZE_MAX).contains(&size) {
        return Err(Error::invalid(format!("depth is 1 to {DEPTH_MAX} and size 1 to {SIZE_MAX}")));
    }
    // However the estate is wired, one walk reads at most READS_MAX
    // relations; where it stops short, it says so.
    let mut budget = Budget { left: READS_MAX, cut: false };
    let mut affected_by = |id: &str| -> std::result::Result<Vec<String>, keel_values::RuleError> {
        affected_by(id, &mut budget).map_err(|err| keel_values::RuleError::new(err.message()))
    };
    let mut class_of = |id: &str| -> std::result::Result<String, keel_values::RuleError> {
        item(id).map(|i| i.class).map_err(|err| keel_values::RuleError::new(err.message()))
    };
    let mut impact = cmdb::impact(&failed.id, depth, size, &mut affected_by, &mut class_of)?;
    impact.truncated |= budget.cut;
    Response::ok(&ImpactAnswer { failed: failed.id, impact })
}

/// What is left of an impact walk's reads.
struct Budget {
    left: u32,
    /// Some relations went unread.
    cut: bool,
}

/// The items `id` failing takes down directly: those that run on it or
/// depend on it, and those connected to it either way; as many as
/// `budget` has reads left for.
fn affected_by(id: &str, budget: &mut Budget) -> Result<Vec<String>> {
    let mut affected = Vec::new();
    for index in ["by-to", "by-from"] {
        let limit = budget.left.min(FAN_MAX);
        if limit == 0 {
            budget.cut = true;
            break;
        }
        let page = RELATIONS.lookup(index, &Range::exactly(id), None, limit)?;
        budget.left -= u32::try_from(page.items.len()).unwrap_or(limit).min(budget.left);
        budget.cut |= page.cursor.is_some();
        for (_, relation) in page.items {
            match index {
                "by-to" => affected.push(relation.from),
                _ if relation.kind == RelationKind::ConnectedTo => affected.push(relation.to),
                _ => {}
            }
        }
    }
    Ok(affected)
}
