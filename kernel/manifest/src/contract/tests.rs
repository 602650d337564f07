//! Contracts: what is refused when read, and what a check reports.

use serde_json::json;

use super::*;

const MANIFEST: &str = r#"
id = "books"
version = "1.0.0"
world = "keel:kernel/plugin@0.6.0"

[[permissions]]
id = "books.write"

[[operations]]
id = "entries.post"
method = "POST"
path = "/entries"
permission = "books.write"

[[operations]]
id = "entries.list"
method = "GET"
path = "/entries"
permission = "books.write"
"#;

fn manifest() -> Manifest {
    Manifest::parse(MANIFEST).unwrap()
}

/// What schemars writes for an entry of lines (abridged).
fn entries() -> Value {
    json!({
        "contract": 1,
        "operations": {
            "entries.post": {
                "request": {
                    "type": "object",
                    "properties": {
                        "date": { "type": "string", "format": "date" },
                        "memo": { "type": "string", "default": "" },
                        "kind": { "$ref": "#/$defs/Kind" },
                        "lines": { "type": "array", "items": { "$ref": "#/$defs/Line" }, "minItems": 2 },
                        "note": { "anyOf": [{ "$ref": "#/$defs/Note" }, { "type": "null" }] },
                    },
                    "required": ["date", "lines"],
                    "additionalProperties": false,
                },
                "response": { "$ref": "#/$defs/Line" },
            },
            "entries.list": {
                "query": {
                    "type": "object",
                    "properties": { "from": { "type": "string", "format": "date" }, "count": { "type": ["integer", "null"], "minimum": 1 } },
                    "required": ["from"],
                },
            },
        },
        "$defs": {
            "Kind": { "type": "string", "enum": ["normal", "closing"] },
            "Line": {
                "type": "object",
                "properties": {
                    "account": { "type": "string", "minLength": 1 },
                    "debit": { "type": ["string", "number", "null"], "pattern": "^-?\\d+(\\.\\d+)?$" },
                },
                "required": ["account"],
                "additionalProperties": false,
            },
            "Note": { "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] },
        },
    })
}

fn contract(document: &Value) -> Result<Contract, ContractError> {
    Contract::parse(&document.to_string(), &manifest())
}

fn pointers(result: Result<(), Vec<Violation>>) -> Vec<(String, String)> {
    result.unwrap_err().into_iter().map(|v| (v.pointer, v.detail)).collect()
}

#[test]
fn a_valid_body_passes_and_each_fault_is_named_by_its_pointer() {
    let contract = contract(&entries()).unwrap();
    let good = json!({ "date": "2026-12-04", "kind": "normal", "lines": [{ "account": "1000", "debit": "10.00" }, { "account": "4000" }], "note": null });
    assert_eq!(contract.check_request("entries.post", &good), Ok(()));

    let bad = json!({
        "date": "2026-02-30", "kind": "odd", "colour": "red",
        "lines": [{ "account": "", "debit": "ten" }, { "debit": 5 }],
        "note": { "txt": 1 },
    });
    let found = pointers(contract.check_request("entries.post", &bad));
    let at = |pointer: &str| {
        found.iter().filter(|(p, _)| p == pointer).map(|(_, d)| d.as_str()).collect::<Vec<_>>()
    };
    assert_eq!(at("/date"), ["\"2026-02-30\" is not a calendar date (YYYY-MM-DD)"]);
    assert_eq!(at("/kind"), ["\"odd\" is not one of \"normal\", \"closing\""]);
    assert!(
        at("/colour")[0].starts_with(
            "is not a field of this object (its fields: date, kind, lines, memo, note)"
        ),
        "{found:?}"
    );
    assert_eq!(at("/lines/0/account"), ["must be at least 1 characters"]);
    assert_eq!(at("/lines/0/debit"), ["\"ten\" does not match the pattern ^-?\\d+(\\.\\d+)?$"]);
    assert_eq!(at("/lines/1/account"), ["is required"]);
    // The one branch of `anyOf` an object can be is the one reported.
    assert_eq!(at("/note/text"), ["is required"]);
    assert!(at("/note/txt").is_empty(), "Note allows other fields: {found:?}");

    let found = pointers(contract.check_request("entries.post", &json!({ "lines": "none" })));
    assert_eq!(
        found,
        [
            ("/date".to_owned(), "is required".to_owned()),
            ("/lines".to_owned(), "expected an array, found a string".to_owned())
        ]
    );
    let found = pointers(contract.check_request("entries.post", &json!([1])));
    assert_eq!(found, [(String::new(), "expected an object, found an array".to_owned())]);
}

#[test]
fn operations_it_does_not_describe_take_anything() {
    let contract = contract(&entries()).unwrap();
    assert!(!contract.describes("entries.get"));
    assert_eq!(contract.check_request("entries.get", &json!("anything")), Ok(()));
    assert_eq!(contract.check_request("entries.list", &json!("no body schema")), Ok(()));
}

#[test]
fn queries_are_read_as_their_declared_types() {
    let contract = contract(&entries()).unwrap();
    let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    };
    assert_eq!(
        contract.check_query(
            "entries.list",
            &query(&[("from", "2026-01-01"), ("count", "3"), ("format", "csv")])
        ),
        Ok(())
    );
    let found = pointers(contract.check_query("entries.list", &query(&[("count", "0")])));
    assert_eq!(
        found,
        [
            ("/from".to_owned(), "is a required query parameter".to_owned()),
            ("/count".to_owned(), "must be at least 1".to_owned())
        ]
    );
    let found =
        pointers(contract.check_query("entries.list", &query(&[("from", "x"), ("count", "many")])));
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn answers_are_checked_against_their_schema() {
    let contract = contract(&entries()).unwrap();
    assert_eq!(contract.check_response("entries.post", &json!({ "account": "1000" })), Ok(()));
    assert!(contract.check_response("entries.post", &json!({ "account": 1000 })).is_err());
}

#[test]
fn bad_contracts_are_refused_with_where_and_why() {
    let refused = |edit: &dyn Fn(&mut Value), at: &str, why: &str| {
        let mut document = entries();
        edit(&mut document);
        let err = contract(&document).unwrap_err();
        assert!(err.at.starts_with(at), "{err}");
        assert!(err.reason.contains(why), "{err}");
    };
    refused(&|d| d["contract"] = json!(2), "/contract", "contract version 1");
    refused(&|d| d["extra"] = json!(1), "/extra", "not a field");
    refused(
        &|d| d["operations"]["entries.gone"] = json!({}),
        "/operations/entries.gone",
        "declares no operation entries.gone",
    );
    refused(
        &|d| d["operations"]["entries.list"]["request"] = json!({}),
        "/operations/entries.list/request",
        "takes no body",
    );
    refused(
        &|d| d["operations"]["entries.list"]["reply"] = json!({}),
        "/operations/entries.list/reply",
        "request, query and response",
    );
    refused(
        &|d| d["operations"]["entries.list"]["query"] = json!({ "type": "string" }),
        "/operations/entries.list/query",
        "object of its parameters",
    );
    refused(
        &|d| d["$defs"]["Kind"]["if"] = json!({}),
        "/$defs/Kind/if",
        "keyword if is not one the kernel checks",
    );
    refused(&|d| d["$defs"]["Kind"]["type"] = json!("text"), "/$defs/Kind/type", "type is one of");
    refused(
        &|d| d["$defs"]["Line"]["properties"]["debit"]["pattern"] = json!("(unclosed"),
        "/$defs/Line/properties/debit/pattern",
        "does not compile",
    );
    refused(
        &|d| d["$defs"]["Line"]["properties"]["account"] = json!({ "$ref": "#/$defs/Missing" }),
        "/$defs/Line/properties/account/$ref",
        "does not define",
    );
    refused(
        &|d| {
            d["$defs"]["Line"]["properties"]["account"] =
                json!({ "$ref": "http://example.com/s.json" })
        },
        "/$defs/Line/properties/account/$ref",
        "#/$defs/<name>",
    );
    // A definition that reaches itself without stepping into a value
    // would check one value forever; through a property it is a tree.
    refused(
        &|d| {
            d["$defs"]["A"] = json!({ "allOf": [{ "$ref": "#/$defs/B" }] });
            d["$defs"]["B"] = json!({ "anyOf": [{ "$ref": "#/$defs/A" }] });
        },
        "/$defs/A",
        "refers to itself",
    );
    let mut tree = entries();
    tree["$defs"]["Node"] = json!({ "type": "object", "properties": { "children": { "type": "array", "items": { "$ref": "#/$defs/Node" } } } });
    contract(&tree).unwrap();
    let mut deep = json!(true);
    for _ in 0..60 {
        deep = json!({ "items": deep });
    }
    refused(
        &|d| d["$defs"]["Deep"] = deep.clone(),
        "/$defs/Deep/items/items",
        "nest deeper than 48",
    );
}

#[test]
fn a_check_does_bounded_work_whatever_the_body() {
    let mut document = entries();
    // A recursive type and a body nested as deep as JSON parsing allows.
    document["operations"]["entries.post"]["request"] = json!({ "$ref": "#/$defs/Node" });
    document["$defs"]["Node"] = json!({ "type": "object", "properties": { "next": { "anyOf": [{ "$ref": "#/$defs/Node" }, { "type": "null" }] } } });
    let contract = contract(&document).unwrap();
    let nested = |depth: usize| {
        let mut body = json!({ "next": 1 });
        for _ in 0..depth {
            body = json!({ "next": body });
        }
        body
    };
    let found = pointers(contract.check_request("entries.post", &nested(40)));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "/next".repeat(41));
    let found = pointers(contract.check_request("entries.post", &nested(120)));
    assert_eq!(
        found.last().unwrap().1,
        "the body is too large or too deeply nested to check against its schema"
    );
    // A wide body: every item checked, within the step budget or refused.
    let wide = json!({ "date": "2026-01-01", "lines": vec![json!({ "account": "1" }); 300_000] });
    let found = pointers(contract_entries().check_request("entries.post", &wide));
    assert_eq!(
        found.last().unwrap().1,
        "the body is too large or too deeply nested to check against its schema"
    );
}

fn contract_entries() -> Contract {
    contract(&entries()).unwrap()
}

/// A contract whose `entries.post` body is `request`, with `defs`.
fn with_request(request: Value, defs: Value) -> Result<Contract, ContractError> {
    let document = json!({ "contract": 1, "operations": { "entries.post": { "request": request } }, "$defs": defs });
    contract(&document)
}

#[test]
fn hostile_contracts_cost_a_bounded_check() {
    // Definitions that fan out without a cycle: 50^4 checks if unbounded.
    let mut defs = serde_json::Map::new();
    defs.insert("D0".to_owned(), json!({ "enum": (0..2000).collect::<Vec<_>>() }));
    for level in 1..5 {
        let refs = vec![json!({ "$ref": format!("#/$defs/D{}", level - 1) }); 50];
        defs.insert(format!("D{level}"), json!({ "allOf": refs }));
    }
    let fan = with_request(json!({ "$ref": "#/$defs/D4" }), Value::Object(defs)).unwrap();
    let found = pointers(fan.check_request("entries.post", &json!("x")));
    assert_eq!(
        found.last().unwrap().1,
        "the body is too large or too deeply nested to check against its schema"
    );
    assert!(found.len() <= 20);

    // A thousand branches that all report, on a body with a long key:
    // only one branch's violations are kept, and the key is cut short.
    let branches = vec![json!({ "$ref": "#/$defs/Strings" }); 1000];
    let defs = json!({ "Strings": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string" } } } });
    let wide = with_request(json!({ "anyOf": branches }), defs).unwrap();
    let key = "k".repeat(100_000);
    let body = json!({ key: vec![1; 20] });
    let found = pointers(wide.check_request("entries.post", &body));
    assert!(found.len() <= 20, "{}", found.len());
    assert!(
        found.iter().all(|(pointer, _)| pointer.chars().count() < 80),
        "pointers are cut short"
    );

    // Unique items over a large array: linear, whatever it holds.
    let unique = with_request(json!({ "type": "array", "uniqueItems": true }), json!({})).unwrap();
    let items: Vec<u32> = (0..150_000).collect();
    assert_eq!(unique.check_request("entries.post", &json!(items)), Ok(()));
    let found = pointers(unique.check_request("entries.post", &json!([1, 2, 1])));
    assert_eq!(found, [(String::new(), "items must be different".to_owned())]);

    // A pattern is matched against bounded text only.
    let pattern = with_request(json!({ "type": "string", "pattern": "^a+$" }), json!({})).unwrap();
    let found = pointers(pattern.check_request("entries.post", &json!("a".repeat(100_000))));
    assert!(
        found[0].1.starts_with("is longer than the 65536 bytes checked against a pattern"),
        "{found:?}"
    );
}

#[test]
fn contracts_that_would_mislead_a_client_or_cost_too_much_are_refused() {
    let refused = |request: Value, defs: Value, why: &str| {
        let err = with_request(request, defs).unwrap_err();
        assert!(err.reason.contains(why), "{err}");
    };
    refused(json!({ "$id": "https://evil.example/", "type": "object" }), json!({}), "keyword $id");
    refused(json!({ "$defs": { "X": {} } }), json!({}), "keyword $defs");
    refused(json!({ "$ref": "#/$defs/A b" }), json!({ "A b": {} }), "a definition's name is");
    let patterns: Vec<Value> = (0..300).map(|i| json!({ "pattern": format!("^x{i}$") })).collect();
    refused(json!({ "allOf": patterns }), json!({}), "at most 256 patterns");
}

#[test]
fn a_query_parameter_given_twice_is_refused_and_named_types_are_read_as_theirs() {
    let document = json!({
        "contract": 1,
        "operations": { "entries.list": { "query": { "$ref": "#/$defs/Query" } } },
        "$defs": {
            "Query": { "type": "object", "properties": {
                "from": { "type": ["string", "null"], "format": "date" },
                "count": { "anyOf": [{ "$ref": "#/$defs/Count" }, { "type": "null" }] },
            } },
            "Count": { "type": "integer", "minimum": 1 },
        },
    });
    let contract = contract(&document).unwrap();
    let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    };
    assert_eq!(contract.check_query("entries.list", &query(&[("count", "5")])), Ok(()));
    let found = pointers(contract.check_query("entries.list", &query(&[("count", "0")])));
    assert_eq!(found, [("/count".to_owned(), "must be at least 1".to_owned())]);
    let found = pointers(
        contract
            .check_query("entries.list", &query(&[("from", "2026-01-01"), ("from", "garbage")])),
    );
    assert_eq!(found, [("/from".to_owned(), "is given more than once".to_owned())]);
}

#[test]
fn a_complete_contract_types_every_operation_of_its_manifest() {
    let whole = entries().to_string();
    assert!(Contract::parse_complete(&whole, MANIFEST).is_ok());
    let mut partial = entries();
    partial["operations"].as_object_mut().unwrap().remove("entries.list");
    let refused = Contract::parse_complete(&partial.to_string(), MANIFEST).unwrap_err();
    assert_eq!(refused, "operations the contract does not type: entries.list");
    let broken = Contract::parse_complete("{", MANIFEST).unwrap_err();
    assert!(broken.starts_with("keel.contract.json: "), "{broken}");
}
