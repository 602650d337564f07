//! Authorization decisions equal those of a small reference model, over
//! generated tenants, principals, roles, grants and assignments: no
//! cross-tenant allow, no panic, nothing granted that the model does not.

use std::collections::{BTreeMap, BTreeSet};

use keel_authz::{ADMIN, AUDITOR, Authz, Domain, PLATFORM_ADMIN};
use keel_types::TenantId;
use proptest::prelude::*;

const TENANTS: [&str; 4] = ["t1", "t10", "t2", "acme"];
const USERS: [&str; 4] = ["ann", "ben", "token:x1", "cy"];
const TENANT_ROLES: [&str; 3] = ["clerk", "manager", "viewer"];
const SEGMENTS: [&str; 5] = ["finance", "hr", "reports", "read", "post"];

/// Where a role is held in the model: a tenant, or the platform.
type Scope = Option<&'static str>;

#[derive(Debug, Clone)]
enum Op {
    /// A tenant's own role, replaced whole.
    DefineTenantRole {
        tenant: &'static str,
        role: &'static str,
        patterns: Vec<String>,
    },
    /// A role defined for every tenant (as built-in roles are).
    DefineSharedRole {
        patterns: Vec<String>,
    },
    Assign {
        user: &'static str,
        role: &'static str,
        tenant: &'static str,
    },
    Revoke {
        user: &'static str,
        role: &'static str,
        tenant: &'static str,
    },
    MakePlatformAdmin {
        user: &'static str,
    },
}

/// The shared role's id.
const SHARED: &str = "shared";

fn permission() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 1..=3).prop_map(|s| s.join("."))
}

fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => permission(),
        1 => Just("*".to_owned()),
        2 => permission().prop_map(|p| format!("{p}.*")),
        2 => permission().prop_map(|p| format!("*.{p}")),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let tenant = prop::sample::select(TENANTS.to_vec());
    let user = prop::sample::select(USERS.to_vec());
    let any_role = prop::sample::select(
        TENANT_ROLES.iter().copied().chain([ADMIN, AUDITOR, SHARED]).collect::<Vec<_>>(),
    );
    let patterns = || prop::collection::vec(pattern(), 1..=3);
    prop_oneof![
        3 => (tenant.clone(), prop::sample::select(TENANT_ROLES.to_vec()), patterns())
            .prop_map(|(tenant, role, patterns)| Op::DefineTenantRole { tenant, role, patterns }),
        1 => patterns().prop_map(|patterns| Op::DefineSharedRole { patterns }),
        4 => (user.clone(), any_role.clone(), tenant.clone())
            .prop_map(|(user, role, tenant)| Op::Assign { user, role, tenant }),
        2 => (user.clone(), any_role, tenant).prop_map(|(user, role, tenant)| Op::Revoke { user, role, tenant }),
        1 => user.prop_map(|user| Op::MakePlatformAdmin { user }),
    ]
}

/// The reference: who holds which role where, and what each role grants
/// where ("*" for every tenant).
#[derive(Debug, Default)]
struct Model {
    grants: BTreeMap<(&'static str, &'static str), BTreeSet<String>>,
    holds: BTreeSet<(&'static str, &'static str, Scope)>,
}

/// Whether `granted` covers `requested`, segment by segment.
fn covers(granted: &str, requested: &str) -> bool {
    let req: Vec<&str> = requested.split('.').collect();
    let parts: Vec<&str> = granted.split('.').collect();
    match (parts.first(), parts.last()) {
        _ if granted == "*" => true,
        (Some(&"*"), _) => req.len() > parts.len() - 1 && req.ends_with(&parts[1..]),
        (_, Some(&"*")) => {
            req.len() > parts.len() - 1 && req.starts_with(&parts[..parts.len() - 1])
        }
        _ => req == parts,
    }
}

impl Model {
    fn new() -> Self {
        let mut model = Self::default();
        model.grants.insert((ADMIN, "*"), BTreeSet::from(["*".to_owned()]));
        model.grants.insert((AUDITOR, "*"), BTreeSet::from(["*.read".to_owned()]));
        model
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::DefineTenantRole { tenant, role, patterns } => {
                self.grants.insert((role, tenant), patterns.iter().cloned().collect());
            }
            Op::DefineSharedRole { patterns } => {
                self.grants.entry((SHARED, "*")).or_default().extend(patterns.iter().cloned());
            }
            Op::Assign { user, role, tenant } => {
                self.holds.insert((user, role, Some(tenant)));
            }
            Op::Revoke { user, role, tenant } => {
                self.holds.remove(&(user, role, Some(tenant)));
            }
            Op::MakePlatformAdmin { user } => {
                self.holds.insert((user, PLATFORM_ADMIN, None));
            }
        }
    }

    fn allows(&self, user: &str, scope: Scope, permission: &str) -> bool {
        if self.holds.contains(&(user, PLATFORM_ADMIN, None)) {
            return true;
        }
        let Some(tenant) = scope else { return false };
        self.holds.iter().filter(|(u, _, s)| *u == user && *s == Some(tenant)).any(
            |(_, role, _)| {
                [tenant, "*"].iter().any(|domain| {
                    self.grants
                        .get(&(*role, *domain))
                        .is_some_and(|granted| granted.iter().any(|g| covers(g, permission)))
                })
            },
        )
    }
}

async fn apply(authz: &Authz, op: &Op) {
    let tenant_id = |t: &str| TenantId::new(t).unwrap();
    match op {
        Op::DefineTenantRole { tenant, role, patterns } => {
            authz.replace_role(&tenant_id(tenant), role, patterns).await.unwrap();
        }
        Op::DefineSharedRole { patterns } => {
            authz.define_role(None, SHARED, patterns).await.unwrap()
        }
        Op::Assign { user, role, tenant } => {
            authz.assign(user, role, Domain::Tenant(&tenant_id(tenant))).await.unwrap();
        }
        Op::Revoke { user, role, tenant } => {
            authz.revoke(user, role, Domain::Tenant(&tenant_id(tenant))).await.unwrap();
        }
        Op::MakePlatformAdmin { user } => {
            authz.assign(user, PLATFORM_ADMIN, Domain::Platform).await.unwrap()
        }
    }
}

/// Cases run; each checks every principal in every scope for each asked
/// permission: 1,000 cases of 4 users, 5 scopes and 5 permissions make
/// 100,000 decisions.
const CASES: u32 = 1_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn decisions_equal_the_reference_model(
        ops in prop::collection::vec(op(), 0..24),
        asked in prop::collection::vec(permission(), 5),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let authz = runtime.block_on(Authz::new()).unwrap();
        let mut model = Model::new();
        for op in &ops {
            runtime.block_on(apply(&authz, op));
            model.apply(op);
        }
        let tenants: Vec<TenantId> = TENANTS.iter().map(|t| TenantId::new(*t).unwrap()).collect();
        for user in USERS {
            for permission in &asked {
                let on_platform = authz.check_blocking(user, Domain::Platform, permission);
                prop_assert_eq!(on_platform, model.allows(user, None, permission), "{} on the platform: {}", user, permission);
                for (tenant, name) in tenants.iter().zip(TENANTS) {
                    let allowed = authz.check_blocking(user, Domain::Tenant(tenant), permission);
                    prop_assert_eq!(allowed, model.allows(user, Some(name), permission), "{} in {}: {}", user, name, permission);
                }
            }
        }
    }

    #[test]
    fn any_text_is_refused_or_decided_without_a_panic(
        permission in "\\PC{0,40}",
        role in "\\PC{0,20}",
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let authz = runtime.block_on(Authz::new()).unwrap();
        let t1 = TenantId::new("t1").unwrap();
        let defined = runtime.block_on(authz.replace_role(&t1, &role, std::slice::from_ref(&permission)));
        if defined.is_ok() {
            prop_assert!(keel_authz::check_permission_pattern(&permission).is_ok());
        }
        let _ = runtime.block_on(authz.assign("ann", &role, Domain::Tenant(&t1)));
        let allowed = authz.check_blocking("ann", Domain::Tenant(&t1), &permission);
        prop_assert!(!allowed || keel_authz::check_permission(&permission).is_ok());
        let t2 = TenantId::new("t2").unwrap();
        prop_assert!(!authz.check_blocking("ann", Domain::Tenant(&t2), &permission), "never in another tenant");
    }
}
