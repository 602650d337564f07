//! The manifest's own tests: a valid one parses, routes resolve, and bad
//! manifests are refused with a reason.

use super::*;

const VALID: &str = r#"
id = "books"
version = "1.2.3"
world = "keel:kernel/plugin@0.6.0"

[[permissions]]
id = "books.read"
[[permissions]]
id = "books.write"

[[roles]]
id = "clerk"
permissions = ["books.read", "books.write"]

[[collections]]
name = "entries"
indexes = [{ name = "by-date", field = "date" }, { name = "by-account", field = "lines[].account" }]

[[operations]]
id = "entries.get"
method = "GET"
path = "/entries/{number}"
permission = "books.read"

[[operations]]
id = "entries.search"
method = "GET"
path = "/entries/search"
permission = "books.read"

[[operations]]
id = "entries.post"
method = "POST"
path = "/entries"
permission = "books.write"
"#;

fn with(find: &str, replace: &str) -> String {
    assert!(VALID.contains(find), "test fixture lacks {find:?}");
    VALID.replacen(find, replace, 1)
}

#[test]
fn valid_manifest_parses() {
    let m = Manifest::parse(VALID).unwrap();
    assert_eq!(m.id.as_str(), "books");
    assert_eq!(m.operations.len(), 3);
    assert_eq!(m.collection("entries").unwrap().indexes.len(), 2);
}

#[test]
fn routes_prefer_literals_and_extract_params() {
    let m = Manifest::parse(VALID).unwrap();
    let route = m.route("GET", "/entries/42").unwrap();
    assert_eq!(route.operation.id, "entries.get");
    assert_eq!(route.params, [("number".to_owned(), "42".to_owned())]);
    assert_eq!(m.route("GET", "/entries/search").unwrap().operation.id, "entries.search");
    assert_eq!(m.route("POST", "/entries").unwrap().operation.id, "entries.post");
}

#[test]
fn unknown_routes_and_methods_are_told_apart() {
    let m = Manifest::parse(VALID).unwrap();
    assert_eq!(m.route("GET", "/nothing"), Err(RouteError::NotFound));
    assert_eq!(m.route("GET", "/entries/1/x"), Err(RouteError::NotFound));
    assert_eq!(m.route("GET", "/entries/"), Err(RouteError::NotFound));
    assert_eq!(m.route("GET", "entries"), Err(RouteError::NotFound));
    assert_eq!(
        m.route("DELETE", "/entries"),
        Err(RouteError::MethodNotAllowed { allowed: vec!["POST"] })
    );
    assert_eq!(
        m.route("BREW", "/entries/1"),
        Err(RouteError::MethodNotAllowed { allowed: vec!["GET"] })
    );
}

#[test]
fn domain_interfaces_are_declared_from_the_known_list() {
    let world = "world = \"keel:kernel/plugin@0.6.0\"";
    let m = Manifest::parse(&with(
        world,
        &format!(
            "{world}\nprovides = [\"keel:erp/stock@0.3.0\"]\nrequires = [\"keel:erp/ledger@0.3.0\"]"
        ),
    ))
    .unwrap();
    assert!(m.provides("keel:erp/stock@0.3.0") && !m.provides("keel:erp/ledger@0.3.0"));
    assert!(m.requires("keel:erp/ledger@0.3.0") && !m.requires("keel:erp/stock@0.3.0"));
    let bad = [
        // The contract before this one is no longer served.
        ("requires = [\"keel:erp/ledger@0.1.0\"]", "unknown interface"),
        ("provides = [\"ledger\"]", "unknown interface"),
        ("requires = [\"keel:erp/stock@0.3.0\", \"keel:erp/stock@0.3.0\"]", "twice"),
        (
            "provides = [\"keel:erp/stock@0.3.0\"]\nrequires = [\"keel:erp/stock@0.3.0\"]",
            "cannot call itself",
        ),
    ];
    for (declared, reason) in bad {
        let err = Manifest::parse(&with(world, &format!("{world}\n{declared}"))).unwrap_err();
        assert!(err.to_string().contains(reason), "{declared}: {err}");
    }
}

#[test]
fn events_are_published_under_the_plugins_own_name() {
    let world = "world = \"keel:kernel/plugin@0.6.0\"";
    let m = Manifest::parse(&with(
        world,
        &format!("{world}\npublishes = [\"books.entry-posted\"]\nsubscribes = [\"stock.reorder.crossed\"]"),
    ))
    .unwrap();
    assert!(m.publishes("books.entry-posted") && m.subscribes("stock.reorder.crossed"));
    let bad = [
        ("publishes = [\"stock.moved\"]", "only topics starting with \"books.\""),
        ("publishes = [\"books\"]", "a topic is"),
        ("subscribes = [\"books.Posted\"]", "the name after the plugin id"),
        ("subscribes = [\"Books.posted\"]", "its plugin part"),
        ("subscribes = [\"a.b\", \"a.b\"]", "twice"),
    ];
    for (declared, reason) in bad {
        let err = Manifest::parse(&with(world, &format!("{world}\n{declared}"))).unwrap_err();
        assert!(err.to_string().contains(reason), "{declared}: {err}");
    }
}

#[test]
fn bad_manifests_are_rejected_with_a_reason() {
    let cases = [
        (with("world = \"keel:kernel/plugin@0.6.0\"", "world = \"other\""), "targets world"),
        (with("1.2.3", "1.2"), "MAJOR.MINOR.PATCH"),
        (with("id = \"books\"", "id = \"Books\""), "plugin id"),
        (VALID.replace("books", "record"), "reserved by the kernel"),
        // `/api/{tenant}/jobs/{id}` is the kernel's.
        (VALID.replace("books", "jobs"), "reserved by the kernel"),
        (with("permission = \"books.write\"", "permission = \"books.admin\""), "does not declare"),
        (with("id = \"books.read\"", "id = \"other.read\""), "starting with"),
        (with("path = \"/entries\"", "path = \"entries\""), "must start with '/'"),
        (with("path = \"/entries\"", "path = \"/entries/{a}/{a}\""), "repeats"),
        (
            with("path = \"/entries/search\"", "path = \"/entries/{id}\""),
            "same method and path shape",
        ),
        (with("field = \"date\"", "field = \"a..b\""), "field path"),
        (with("name = \"entries\"", "name = \"en tries\""), "collection name"),
        (with("id = \"clerk\"", "id = \"clerk\"\nextra = 1"), "unknown field"),
        (with("\"books.read\", \"books.write\"]", "\"books.nope\"]"), "undeclared permission"),
        ("not toml at all [".to_owned(), "not valid"),
        (with("id = \"clerk\"", "id = \"auditor\""), "built into the kernel"),
        (
            with(
                "permission = \"books.write\"",
                "permission = \"books.write\"\nnot_by_creator = { collection = \"nope\", param = \"x\", field = \"by\" }",
            ),
            "undeclared collection",
        ),
        (
            with(
                "permission = \"books.write\"",
                "permission = \"books.write\"\nnot_by_creator = { collection = \"entries\", param = \"x\", field = \"by\" }",
            ),
            "not a parameter",
        ),
        (
            with("name = \"entries\"", "name = \"entries\"\nsensitive = true"),
            "sealed at rest and cannot be indexed",
        ),
    ];
    for (text, expected) in cases {
        let err = Manifest::parse(&text).expect_err(expected).to_string();
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    }
}

#[test]
fn oversized_manifest_is_rejected() {
    let big = format!("{VALID}\n# {}", "x".repeat(manifest::MANIFEST_BYTES_MAX));
    assert!(Manifest::parse(&big).unwrap_err().to_string().contains("limit"));
}

#[test]
fn no_plugin_id_spells_the_start_of_a_kernel_action() {
    // Their business records would read like the kernel's own.
    let heads = keel_types::action::ALL.iter().filter_map(|a| a.as_str().split_once('.'));
    for (head, _) in heads.chain([("event", ""), ("provider", ""), ("interface", "")]) {
        let manifest = VALID.replace("books", head);
        let err = Manifest::parse(&manifest).map(drop).expect_err(head);
        assert!(err.to_string().contains("reserved by the kernel"), "{head}: {err}");
    }
}

#[test]
fn a_get_operation_may_declare_its_csv_export() {
    let export = r#"
[operations.export]
rows = "/entries"
columns = [{ name = "Number", field = "/number" }, { name = "Date", field = "/date" }]
"#;
    let with = |after: &str, text: &str| VALID.replacen(after, &format!("{after}{text}"), 1);
    let search = "path = \"/entries/search\"\npermission = \"books.read\"\n";
    let manifest = Manifest::parse(&with(search, export)).unwrap();
    let op = manifest.operations.iter().find(|o| o.id == "entries.search").unwrap();
    let columns: Vec<&str> =
        op.export.as_ref().unwrap().columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["Number", "Date"]);
    let post = "path = \"/entries\"\npermission = \"books.write\"\n";
    let err = Manifest::parse(&with(post, export)).unwrap_err().to_string();
    assert!(err.contains("only a GET operation is exported"), "{err}");
    let bad = export.replace("\"/entries\"", "\"entries\"");
    let err = Manifest::parse(&with(search, &bad)).unwrap_err().to_string();
    assert!(err.contains("not a JSON pointer"), "{err}");
    let none = "\n[operations.export]\nrows = \"/entries\"\ncolumns = []\n";
    let err = Manifest::parse(&with(search, none)).unwrap_err().to_string();
    assert!(err.contains("1 to 64 columns"), "{err}");
}

#[test]
fn a_schedule_calls_an_operation_that_may_write_and_needs_no_parameters() {
    let schedule = |operation: &str| {
        format!(
            "{VALID}\n[[schedules]]\nid = \"nightly\"\ncron = \"0 2 * * *\"\ntime_zone = \"Europe/Paris\"\noperation = \"{operation}\"\n"
        )
    };
    let m = Manifest::parse(&schedule("entries.post")).unwrap();
    assert_eq!(m.schedules[0].time_zone, "Europe/Paris");
    for (operation, expected) in [
        ("entries.missing", "does not declare"),
        ("entries.search", "GET operation"),
        ("entries.get", "GET operation"),
    ] {
        let err = Manifest::parse(&schedule(operation)).unwrap_err().to_string();
        assert!(err.contains(expected), "{operation}: {err}");
    }
    let with_params = with(
        "id = \"entries.post\"\nmethod = \"POST\"\npath = \"/entries\"",
        "id = \"entries.post\"\nmethod = \"POST\"\npath = \"/entries/{day}\"",
    );
    let text = format!(
        "{with_params}\n[[schedules]]\nid = \"nightly\"\ncron = \"0 2 * * *\"\noperation = \"entries.post\"\n"
    );
    let err = Manifest::parse(&text).unwrap_err().to_string();
    assert!(err.contains("parameters the kernel cannot fill"), "{err}");
    let twice = format!(
        "{}[[schedules]]\nid = \"nightly\"\ncron = \"0 3 * * *\"\noperation = \"entries.post\"\n",
        schedule("entries.post")
    );
    assert!(Manifest::parse(&twice).unwrap_err().to_string().contains("declared twice"));
    let utc = format!(
        "{VALID}\n[[schedules]]\nid = \"hourly\"\ncron = \"0 * * * *\"\noperation = \"entries.post\"\n"
    );
    assert_eq!(Manifest::parse(&utc).unwrap().schedules[0].time_zone, "UTC", "UTC unless given");
}

#[test]
fn a_job_is_an_operation_that_may_write_and_no_schedule_calls() {
    let job = with(
        "id = \"entries.post\"\nmethod = \"POST\"\npath = \"/entries\"",
        "id = \"entries.post\"\nmethod = \"POST\"\npath = \"/entries\"\njob = true",
    );
    let m = Manifest::parse(&job).unwrap();
    assert!(m.operation("entries.post").unwrap().job);
    assert!(!m.operation("entries.get").unwrap().job, "not a job unless declared");

    let get = with(
        "id = \"entries.search\"\nmethod = \"GET\"\npath = \"/entries/search\"",
        "id = \"entries.search\"\nmethod = \"GET\"\npath = \"/entries/search\"\njob = true",
    );
    let err = Manifest::parse(&get).unwrap_err().to_string();
    assert!(err.contains("is a job, so it must be one that may write"), "{err}");

    let scheduled = format!(
        "{job}\n[[schedules]]\nid = \"nightly\"\ncron = \"0 2 * * *\"\noperation = \"entries.post\"\n"
    );
    let err = Manifest::parse(&scheduled).unwrap_err().to_string();
    assert!(err.contains("cannot start a job"), "{err}");
}

#[test]
fn only_a_get_is_paged() {
    let paged = with(
        "id = \"entries.search\"\nmethod = \"GET\"\npath = \"/entries/search\"",
        "id = \"entries.search\"\nmethod = \"GET\"\npath = \"/entries/search\"\npaged = true",
    );
    let m = Manifest::parse(&paged).unwrap();
    assert!(m.operation("entries.search").unwrap().paged);
    assert!(!m.operation("entries.get").unwrap().paged, "not paged unless declared");

    let post = with(
        "id = \"entries.post\"\nmethod = \"POST\"\npath = \"/entries\"",
        "id = \"entries.post\"\nmethod = \"POST\"\npath = \"/entries\"\npaged = true",
    );
    let err = Manifest::parse(&post).unwrap_err().to_string();
    assert!(err.contains("is paged, so it must be a GET"), "{err}");
}

#[test]
fn imports_call_an_operation_that_writes_with_fields_in_place() {
    let import = r#"
[[imports]]
id = "opening-balances"
title = "Opening balances"
operation = "entries.post"
into = "/lines"
params = [{ name = "date", type = "date", required = true }]
fields = [{ name = "account", required = true }, { name = "debit", type = "decimal" }]
"#;
    let m = Manifest::parse(&format!("{VALID}{import}")).unwrap();
    let declared = m.import("opening-balances").unwrap();
    assert_eq!(declared.field("ACCOUNT").unwrap().pointer(), "/account");
    assert!(declared.field("credit").is_none());

    let bad = [
        ("operation = \"entries.post\"", "operation = \"entries.get\"", "may write"),
        ("operation = \"entries.post\"", "operation = \"nothing\"", "does not declare"),
        ("into = \"/lines\"", "into = \"lines\"", "not a JSON pointer"),
        ("into = \"/lines\"", "into = \"/date\"", "where the rows go"),
        ("{ name = \"debit\", type = \"decimal\" }", "{ name = \"Account\" }", "twice"),
        ("{ name = \"debit\", type = \"decimal\" }", "{ name = \"de bit\" }", "a-z"),
        ("id = \"opening-balances\"", "id = \"Opening\"", "import id"),
        ("title = \"Opening balances\"", "title = \" \"", "title"),
        ("fields = [", "fields = [{ name = \"acct\", field = \"/account\" }, ", "two fields"),
        ("params = [", "params = [{ name = \"Date\" }, ", "twice"),
        ("params = [", "params = [{ name = \"from_row\" }, ", "reserved"),
    ];
    for (find, replace, reason) in bad {
        assert!(import.contains(find), "{find}");
        let text = format!("{VALID}{}", import.replacen(find, replace, 1));
        let err = Manifest::parse(&text).unwrap_err();
        assert!(err.to_string().contains(reason), "{replace}: {err}");
    }
    // A plugin cannot take the URL segment imports are served under.
    let err = Manifest::parse(&with("id = \"books\"", "id = \"imports\"")).unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
}

#[test]
fn reportable_sources_name_a_collection_a_permission_and_typed_fields() {
    let source = r#"
[[reportable]]
id = "entry-lines"
title = "Entry lines"
collection = "entries"
permission = "books.read"
each = "/lines"
fields = [
    { name = "number", field = "/number", type = "integer" },
    { name = "account", field = "/account", of_each = true },
    { name = "debit", field = "/debit", type = "decimal", of_each = true },
]
"#;
    let m = Manifest::parse(&format!("{VALID}{source}")).unwrap();
    let declared = m.reportable("entry-lines").unwrap();
    assert_eq!(declared.field("debit").unwrap().kind, ColumnType::Decimal);
    assert!(declared.field("credit").is_none());

    let bad = [
        ("collection = \"entries\"", "collection = \"ledger\"", "does not declare"),
        ("permission = \"books.read\"", "permission = \"books.peek\"", "does not declare"),
        ("each = \"/lines\"\n", "", "no `each` array"),
        ("each = \"/lines\"", "each = \"lines\"", "not a JSON pointer"),
        ("field = \"/number\"", "field = \"number\"", "not a JSON pointer"),
        ("name = \"account\"", "name = \"number\"", "twice"),
        ("name = \"account\"", "name = \"Account\"", "a-z"),
        ("id = \"entry-lines\"", "id = \"Entry lines\"", "id"),
        ("title = \"Entry lines\"", "title = \"\"", "title"),
    ];
    for (find, replace, reason) in bad {
        assert!(source.contains(find), "{find}");
        let text = format!("{VALID}{}", source.replacen(find, replace, 1));
        let err = Manifest::parse(&text).unwrap_err();
        assert!(err.to_string().contains(reason), "{replace}: {err}");
    }
    let twice = format!("{VALID}{source}{source}");
    assert!(Manifest::parse(&twice).unwrap_err().to_string().contains("declared twice"));
    let err = Manifest::parse(&with("id = \"books\"", "id = \"reports\"")).unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
}
