//! The configuration database's rules: configuration items of typed classes
//! (the built-in server, application, service, network device and licence,
//! and a tenant's own, each with typed attributes), relations between them
//! (runs on, depends on, connected to), and impact analysis: which
//! services are affected when an item fails, a walk over the relations
//! bounded in depth and in size.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use keel_values::RuleError;
use keel_values::code::check_code;
use serde::{Deserialize, Serialize};

/// The classes every tenant has.
pub const BUILT_IN: [&str; 5] = ["server", "application", "service", "network-device", "licence"];
/// The class impact analysis looks for.
pub const SERVICE: &str = "service";
/// Most attributes one class declares.
const ATTRIBUTES_MAX: usize = 50;
/// Longest text attribute, in bytes.
const TEXT_BYTES_MAX: usize = 1000;

/// What an attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttributeType {
    Text,
    Number,
    Date,
    Flag,
}

/// A class of configuration items and the attributes its items have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub name: String,
    /// By attribute name: its type and whether every item states it.
    pub attributes: BTreeMap<String, AttributeDef>,
}

/// One attribute of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    #[serde(rename = "type")]
    pub kind: AttributeType,
    #[serde(default)]
    pub required: bool,
}

/// How one item relates to another.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RelationKind {
    /// `from` runs on `to` (an application on a server): `to` failing
    /// takes `from` down.
    RunsOn,
    /// `from` depends on `to` (a service on an application): the same.
    DependsOn,
    /// `from` and `to` are connected (a server to a switch): each failing
    /// affects the other.
    ConnectedTo,
}

impl Class {
    /// Checks a tenant's own class: its name a lower-case id not taken by a
    /// built-in class, its attributes named like ids and at most 50.
    pub fn check(&self) -> Result<(), RuleError> {
        check_id("class", &self.name)?;
        if BUILT_IN.contains(&self.name.as_str()) {
            return Err(RuleError::new(format!("class {} is built in", self.name)));
        }
        if self.attributes.len() > ATTRIBUTES_MAX {
            return Err(RuleError::new(format!("a class has at most {ATTRIBUTES_MAX} attributes")));
        }
        self.attributes.keys().try_for_each(|name| check_id("attribute", name))
    }

    /// Checks an item's attributes against the class: each declared, of
    /// its type, the required ones there.
    pub fn check_item(
        &self,
        attributes: &BTreeMap<String, serde_json::Value>,
    ) -> Result<(), RuleError> {
        for (name, value) in attributes {
            let def = self.attributes.get(name).ok_or_else(|| {
                RuleError::new(format!("class {} has no attribute {name}", self.name))
            })?;
            let fits = match def.kind {
                AttributeType::Text => value.as_str().is_some_and(|t| t.len() <= TEXT_BYTES_MAX),
                AttributeType::Number => value.as_str().is_some_and(|t| {
                    keel_values::decimal::amount(t, name, keel_values::decimal::Sign::Any).is_ok()
                }),
                AttributeType::Date => {
                    value.as_str().is_some_and(|t| keel_values::Date::parse(t).is_ok())
                }
                AttributeType::Flag => value.is_boolean(),
            };
            if !fits {
                return Err(RuleError::new(format!(
                    "attribute {name} of class {} is {:?}, not {value}",
                    self.name, def.kind
                )));
            }
        }
        let missing = self
            .attributes
            .iter()
            .find(|(name, def)| def.required && !attributes.contains_key(*name));
        if let Some((name, _)) = missing {
            return Err(RuleError::new(format!(
                "an item of class {} states its {name}",
                self.name
            )));
        }
        Ok(())
    }
}

/// Checks a relation between two items, `(id, class)` each: never an item
/// to itself; something runs on infrastructure (not on a service, an
/// application or a licence); only infrastructure is connected.
pub fn check_relation(
    (from, from_class): (&str, &str),
    kind: RelationKind,
    (to, to_class): (&str, &str),
) -> Result<(), RuleError> {
    if from == to {
        return Err(RuleError::new(format!("item {from} cannot be related to itself")));
    }
    let soft = |class: &str| ["service", "application", "licence"].contains(&class);
    match kind {
        RelationKind::RunsOn if soft(to_class) => Err(RuleError::new(format!(
            "{from} cannot run on {to}, a {to_class}: things run on servers and devices; \
             say it depends on it"
        ))),
        RelationKind::ConnectedTo if soft(from_class) || soft(to_class) => {
            Err(RuleError::new(format!(
                "{from} ({from_class}) and {to} ({to_class}): only servers and devices are \
                 connected; say one depends on the other"
            )))
        }
        _ => Ok(()),
    }
}

/// What an item failing affects: every item it takes down, however
/// indirectly, and of those the services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Impact {
    /// Affected items, nearest first, with how far (in relations) each is.
    pub items: Vec<(String, usize)>,
    /// The affected services, in order of their ids.
    pub services: Vec<String>,
    /// The walk stopped at its bounds: there may be more.
    pub truncated: bool,
}

/// Which items are affected when `failed` fails, walking at most `depth`
/// relations out and visiting at most `size` items. `affected_by(id)`
/// answers the items that `id` failing takes down directly (those that run
/// on it or depend on it, and those connected to it), and `class_of(id)`
/// each item's class.
pub fn impact(
    failed: &str,
    depth: usize,
    size: usize,
    affected_by: &mut dyn FnMut(&str) -> Result<Vec<String>, RuleError>,
    class_of: &mut dyn FnMut(&str) -> Result<String, RuleError>,
) -> Result<Impact, RuleError> {
    let mut seen: BTreeSet<String> = BTreeSet::from([failed.to_owned()]);
    let mut queue = VecDeque::from([(failed.to_owned(), 0)]);
    let mut items = Vec::new();
    let mut truncated = false;
    while let Some((id, distance)) = queue.pop_front() {
        if distance == depth {
            truncated |= !affected_by(&id)?.iter().all(|next| seen.contains(next));
            continue;
        }
        for next in affected_by(&id)? {
            if seen.contains(&next) {
                continue;
            }
            if items.len() == size {
                truncated = true;
                break;
            }
            seen.insert(next.clone());
            items.push((next.clone(), distance + 1));
            queue.push_back((next, distance + 1));
        }
    }
    let mut services = Vec::new();
    for (id, _) in &items {
        if class_of(id)? == SERVICE {
            services.push(id.clone());
        }
    }
    services.sort();
    Ok(Impact { items, services, truncated })
}

fn check_id(what: &str, id: &str) -> Result<(), RuleError> {
    let well_formed = !id.is_empty()
        && id.len() <= 40
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(RuleError::new(format!(
            "{what} {id:?}: 1 to 40 of a-z, 0-9, - and _, starting with a letter"
        )));
    }
    Ok(())
}

/// Checks an item's id (`SRV-0001`, say).
pub fn check_item_id(id: &str) -> Result<(), RuleError> {
    check_code("configuration item", id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Each item's class, and the relations between them.
    type Estate =
        (BTreeMap<&'static str, &'static str>, Vec<(&'static str, RelationKind, &'static str)>);

    /// A small estate: the web shop (a service) depends on the shop
    /// application, which runs on two servers; one server is connected to
    /// a switch, which the mail server is connected to too; mail (a
    /// service) depends on the mail application on the mail server.
    fn estate() -> Estate {
        let classes = BTreeMap::from([
            ("SHOP", "service"),
            ("SHOP-APP", "application"),
            ("SRV-1", "server"),
            ("SRV-2", "server"),
            ("SW-1", "network-device"),
            ("MAIL", "service"),
            ("MAIL-APP", "application"),
            ("SRV-MAIL", "server"),
        ]);
        let relations = vec![
            ("SHOP", RelationKind::DependsOn, "SHOP-APP"),
            ("SHOP-APP", RelationKind::RunsOn, "SRV-1"),
            ("SHOP-APP", RelationKind::RunsOn, "SRV-2"),
            ("SRV-1", RelationKind::ConnectedTo, "SW-1"),
            ("SRV-MAIL", RelationKind::ConnectedTo, "SW-1"),
            ("MAIL-APP", RelationKind::RunsOn, "SRV-MAIL"),
            ("MAIL", RelationKind::DependsOn, "MAIL-APP"),
        ];
        (classes, relations)
    }

    fn affected_by(relations: &[(&str, RelationKind, &str)], id: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (from, kind, to) in relations {
            if *to == id {
                out.push((*from).to_owned());
            }
            if *kind == RelationKind::ConnectedTo && *from == id {
                out.push((*to).to_owned());
            }
        }
        out
    }

    fn walk(failed: &str, depth: usize, size: usize) -> Impact {
        let (classes, relations) = estate();
        impact(failed, depth, size, &mut |id| Ok(affected_by(&relations, id)), &mut |id| {
            Ok(classes[id].to_owned())
        })
        .unwrap()
    }

    #[test]
    fn a_failing_server_or_switch_takes_down_the_services_above_it() {
        let server = walk("SRV-2", 10, 100);
        assert_eq!(server.services, ["SHOP"]);
        assert_eq!(server.items, [("SHOP-APP".to_owned(), 1), ("SHOP".to_owned(), 2)]);
        assert!(!server.truncated);
        let switch = walk("SW-1", 10, 100);
        assert_eq!(switch.services, ["MAIL", "SHOP"]);
        let near = walk("SW-1", 1, 100);
        assert_eq!(
            (near.services.len(), near.truncated),
            (0, true),
            "two servers only, and more beyond"
        );
        let small = walk("SW-1", 10, 2);
        assert!(small.truncated);
        assert!(walk("SHOP", 10, 100).items.is_empty(), "nothing depends on the service");
    }

    #[test]
    fn classes_and_items_are_checked() {
        let rack = Class {
            name: "rack".to_owned(),
            attributes: BTreeMap::from([
                ("units".to_owned(), AttributeDef { kind: AttributeType::Number, required: true }),
                ("room".to_owned(), AttributeDef { kind: AttributeType::Text, required: false }),
                ("since".to_owned(), AttributeDef { kind: AttributeType::Date, required: false }),
            ]),
        };
        rack.check().unwrap();
        let item = |json: serde_json::Value| -> BTreeMap<String, serde_json::Value> {
            serde_json::from_value(json).unwrap()
        };
        rack.check_item(&item(serde_json::json!({"units": "42", "since": "2026-01-05"}))).unwrap();
        let cases = [
            (serde_json::json!({"room": "B2"}), "states its units"),
            (serde_json::json!({"units": 42}), "is Number"),
            (serde_json::json!({"units": "42", "since": "Monday"}), "is Date"),
            (serde_json::json!({"units": "42", "colour": "red"}), "no attribute colour"),
        ];
        for (attributes, expected) in cases {
            let err = rack.check_item(&item(attributes)).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let server = Class { name: "server".to_owned(), attributes: BTreeMap::new() };
        assert!(server.check().unwrap_err().to_string().contains("built in"));
        assert!(
            check_relation(("SRV-1", "server"), RelationKind::RunsOn, ("SRV-1", "server")).is_err()
        );
        let err = check_relation(("APP", "application"), RelationKind::RunsOn, ("SHOP", "service"))
            .unwrap_err();
        assert!(err.to_string().contains("say it depends on it"), "{err}");
        assert!(
            check_relation(
                ("APP", "application"),
                RelationKind::ConnectedTo,
                ("SW", "network-device")
            )
            .is_err()
        );
        check_relation(("APP", "application"), RelationKind::RunsOn, ("SRV", "server")).unwrap();
        check_relation(("SRV", "server"), RelationKind::ConnectedTo, ("SW", "network-device"))
            .unwrap();
        check_relation(("SHOP", "service"), RelationKind::DependsOn, ("APP", "application"))
            .unwrap();
        assert!(check_item_id("srv 1").is_err());
    }

    proptest! {
        /// However the items are related, the walk stays within its bounds,
        /// names no item twice, and never names the failed item.
        #[test]
        fn the_walk_is_bounded(
            edges in proptest::collection::vec((0u8..30, 0u8..30), 0..120),
            depth in 0usize..6,
            size in 0usize..40,
        ) {
            let name = |n: u8| format!("CI-{n}");
            let relations: Vec<(String, String)> =
                edges.iter().map(|(a, b)| (name(*a), name(*b))).collect();
            let found = impact(
                "CI-0",
                depth,
                size,
                &mut |id| Ok(relations.iter().filter(|(_, to)| to == id).map(|(from, _)| from.clone()).collect()),
                &mut |_| Ok("server".to_owned()),
            ).unwrap();
            prop_assert!(found.items.len() <= size);
            prop_assert!(found.items.iter().all(|(_, d)| *d <= depth));
            let ids: BTreeSet<&String> = found.items.iter().map(|(id, _)| id).collect();
            prop_assert_eq!(ids.len(), found.items.len());
            prop_assert!(!ids.contains(&"CI-0".to_owned()));
        }
    }
}
