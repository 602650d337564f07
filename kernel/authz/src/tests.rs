//! The policy's own tests: roles grant their permissions in their tenant
//! only, built-in roles, changes, malformed rules and path patterns. The
//! reference-model comparison is in `tests/policy_model.rs`.

use keel_types::TenantId;

use super::*;

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

fn perms(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| (*p).to_owned()).collect()
}

async fn books() -> Authz {
    let authz = Authz::new().await.unwrap();
    authz
        .define_role(
            None,
            "accountant",
            &perms(&["finance.accounts.manage", "finance.journal.post", "finance.reports.read"]),
        )
        .await
        .unwrap();
    authz.define_role(None, "finance-viewer", &perms(&["finance.reports.read"])).await.unwrap();
    authz
}

#[tokio::test]
async fn roles_grant_their_permissions_only_in_their_tenant() {
    let authz = books().await;
    let (t1, t10) = (tenant("tenant1"), tenant("tenant10"));
    authz.assign("alice", "accountant", Domain::Tenant(&t1)).await.unwrap();
    assert!(authz.check("alice", Domain::Tenant(&t1), "finance.journal.post").await);
    assert!(
        !authz.check("alice", Domain::Tenant(&t10), "finance.journal.post").await,
        "tenant1 must not match tenant10"
    );
    assert!(!authz.check("alice", Domain::Tenant(&t1), "hr.payroll.read").await);
    assert!(!authz.check("alice", Domain::Platform, "platform.tenants.manage").await);
    assert!(
        !authz.check("bob", Domain::Tenant(&t1), "finance.reports.read").await,
        "deny by default"
    );
    assert_eq!(authz.roles("alice", Domain::Tenant(&t1)).await, ["accountant"]);
    assert!(authz.roles("alice", Domain::Tenant(&t10)).await.is_empty());
}

#[tokio::test]
async fn built_in_roles() {
    let authz = books().await;
    let t = tenant("acme");
    authz.assign("ada", ADMIN, Domain::Tenant(&t)).await.unwrap();
    authz.assign("aud", AUDITOR, Domain::Tenant(&t)).await.unwrap();
    authz.assign("root", PLATFORM_ADMIN, Domain::Platform).await.unwrap();
    assert!(authz.check("ada", Domain::Tenant(&t), "finance.journal.post").await);
    assert!(!authz.check("ada", Domain::Tenant(&tenant("other")), "finance.journal.post").await);
    assert!(authz.check("aud", Domain::Tenant(&t), "finance.reports.read").await);
    assert!(
        !authz.check("aud", Domain::Tenant(&t), "finance.journal.post").await,
        "auditors change nothing"
    );
    assert!(authz.check("root", Domain::Tenant(&tenant("any")), "finance.journal.post").await);
    assert!(authz.check("root", Domain::Platform, "platform.tenants.manage").await);
    assert!(authz.assign("ada", PLATFORM_ADMIN, Domain::Tenant(&t)).await.is_err());
    assert!(authz.assign("ada", ADMIN, Domain::Platform).await.is_err());
}

#[tokio::test]
async fn decisions_follow_changes() {
    let authz = books().await;
    let t = tenant("acme");
    assert!(!authz.check("bob", Domain::Tenant(&t), "finance.reports.read").await);
    authz.assign("bob", "finance-viewer", Domain::Tenant(&t)).await.unwrap();
    assert!(
        authz.check("bob", Domain::Tenant(&t), "finance.reports.read").await,
        "cache cleared on assign"
    );
    assert!(authz.revoke("bob", "finance-viewer", Domain::Tenant(&t)).await.unwrap());
    assert!(
        !authz.check("bob", Domain::Tenant(&t), "finance.reports.read").await,
        "cache cleared on revoke"
    );
    authz.define_role(Some(&t), "clerk", &perms(&["finance.journal.post"])).await.unwrap();
    authz.assign("bob", "clerk", Domain::Tenant(&t)).await.unwrap();
    assert!(authz.check("bob", Domain::Tenant(&t), "finance.journal.post").await);
    let other = tenant("other");
    authz.assign("bob", "clerk", Domain::Tenant(&other)).await.unwrap();
    assert!(
        !authz.check("bob", Domain::Tenant(&other), "finance.journal.post").await,
        "a tenant's own role stays there"
    );
}

#[tokio::test]
async fn malformed_rules_are_refused() {
    let authz = books().await;
    for bad in [
        "",
        "Finance.read",
        "finance..read",
        "finance read",
        "**",
        "*.",
        "fin*nce",
        "finance,journal",
    ] {
        let err = authz.define_role(None, "bad", &perms(&[bad])).await.unwrap_err();
        assert!(matches!(err, AuthzError::Invalid(_)), "{bad:?}");
    }
    for bad_role in ["", "Admin", "a,b", "role:x"] {
        assert!(
            authz.assign("x", bad_role, Domain::Tenant(&tenant("acme"))).await.is_err(),
            "{bad_role:?}"
        );
    }
    assert!(authz.define_role(None, PLATFORM_ADMIN, &perms(&["*"])).await.is_err());
}

#[test]
fn patterns_match_whole_segments() {
    assert!(matches("finance.reports.read", "*.read"));
    assert!(!matches("finance.unread", "*.read"));
    assert!(matches("finance.journal.post", "finance.*"));
    assert!(!matches("financex.journal.post", "finance.*"));
    assert!(matches("anything.at.all", "*"));
    assert!(!matches("finance.journal.post", "finance.journal"));
}

#[tokio::test]
async fn tenant_roles_can_be_replaced_and_inspected() {
    let authz = books().await;
    let t = tenant("acme");
    authz
        .replace_role(&t, "clerk", &perms(&["finance.journal.post", "finance.reports.read"]))
        .await
        .unwrap();
    authz.assign("bob", "clerk", Domain::Tenant(&t)).await.unwrap();
    assert!(authz.check("bob", Domain::Tenant(&t), "finance.journal.post").await);
    authz.replace_role(&t, "clerk", &perms(&["finance.reports.read"])).await.unwrap();
    assert!(
        !authz.check("bob", Domain::Tenant(&t), "finance.journal.post").await,
        "replaced, not extended"
    );
    assert_eq!(authz.role_permissions(&t, "clerk").await, ["finance.reports.read"]);
    assert_eq!(authz.role_permissions(&t, "admin").await, ["*"]);
    let roles = perms(&["clerk", "finance-viewer"]);
    assert!(authz.roles_grant(&t, &roles, "finance.reports.read").await);
    assert!(!authz.roles_grant(&t, &roles, "finance.journal.post").await);
    assert!(authz.roles_grant(&t, &perms(&["admin"]), "anything.at.all").await);
    assert!(authz.replace_role(&t, "clerk", &perms(&["bad perm"])).await.is_err());
    assert_eq!(
        authz.role_permissions(&t, "clerk").await,
        ["finance.reports.read"],
        "a refused change changes nothing"
    );
}
