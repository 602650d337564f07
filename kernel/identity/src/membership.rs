//! Memberships: the roles a user holds in a tenant, or on the platform.

use keel_types::action;
use keel_types::{TenantId, UserId};

use crate::{Change, Identity, IdentityError, audit, from_json, storage, to_json};

/// Key segment of the platform, which no tenant id can take.
const PLATFORM: &str = "~platform";

/// The roles one user holds in one tenant (or on the platform, when `tenant` is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The tenant, or none for the platform.
    pub tenant: Option<TenantId>,
    /// The user.
    pub user: UserId,
    /// Role ids, sorted.
    pub roles: Vec<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct MembershipRecord {
    pub(crate) roles: Vec<String>,
}

fn key(tenant: Option<&TenantId>, user: &UserId) -> String {
    format!("member/{}/{user}", tenant.map_or(PLATFORM, TenantId::as_str))
}

impl Identity {
    /// Replaces the roles `user` holds in `tenant`; no roles ends the membership.
    pub fn set_roles(
        &self,
        origin: &keel_audit::Origin,
        tenant: Option<&TenantId>,
        user: &UserId,
        roles: &[String],
    ) -> Result<(), IdentityError> {
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let mut txn = self.storage.write(&[crate::lane(tenant)]).map_err(storage)?;
        let before = match txn.catalog_get(&key(tenant, user)).map_err(storage)? {
            Some(bytes) => from_json::<MembershipRecord>(&bytes)?,
            None => MembershipRecord { roles: Vec::new() },
        };
        let after = MembershipRecord { roles };
        if after.roles.is_empty() {
            txn.catalog_remove(&key(tenant, user)).map_err(storage)?;
        } else {
            txn.catalog_put(&key(tenant, user), &to_json(&after)?).map_err(storage)?;
        }
        let change = Change::new("members", user.as_str()).before(&before).after(&after);
        audit(&mut txn, tenant, change.record(origin, action::MEMBER_SET))?;
        txn.commit().map_err(storage)
    }

    /// Every membership, or those of one tenant (`Some(Some(t))`) or of
    /// the platform (`Some(None)`).
    pub fn memberships(
        &self,
        tenant: Option<Option<&TenantId>>,
    ) -> Result<Vec<Membership>, IdentityError> {
        let prefix = match tenant {
            None => "member/".to_owned(),
            Some(scope) => format!("member/{}/", scope.map_or(PLATFORM, TenantId::as_str)),
        };
        let txn = self.storage.read().map_err(storage)?;
        let mut out = Vec::new();
        for (key, bytes) in txn.catalog_scan(&prefix).map_err(storage)? {
            let mut parts = key.splitn(3, '/').skip(1);
            let (Some(scope), Some(user)) = (parts.next(), parts.next()) else { continue };
            let tenant = if scope == PLATFORM { None } else { TenantId::new(scope).ok() };
            let (Ok(user), false) = (UserId::new(user), scope != PLATFORM && tenant.is_none())
            else {
                continue;
            };
            let record: MembershipRecord = from_json(&bytes)?;
            out.push(Membership { tenant, user, roles: record.roles });
        }
        Ok(out)
    }
}
