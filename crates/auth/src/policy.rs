//! The vocabulary of the access policy: what each role is granted on a route. The table itself
//! (every route × role) lives with the routes in the `web` crate; this module decides.
//!
//! Never: allow by default. A route is public only when its rule says so; a role absent from a
//! rule is denied.

use model::Role;

/// What one role may do on one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Deny,
    /// Everything the route serves in the org.
    All,
    /// Only what belongs to the caller (an agent's own contacts, own profile).
    Own,
}

/// One row of the policy: who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Callable without signing in (login, health, the API document).
    pub public: bool,
    pub admin: Grant,
    pub supervisor: Grant,
    pub agent: Grant,
}

impl Rule {
    pub const PUBLIC: Rule = Rule { public: true, admin: Grant::All, supervisor: Grant::All, agent: Grant::All };
    pub const SIGNED_IN: Rule = Rule { public: false, admin: Grant::All, supervisor: Grant::All, agent: Grant::All };
    pub const ADMIN: Rule = Rule { public: false, admin: Grant::All, supervisor: Grant::Deny, agent: Grant::Deny };
    pub const STAFF: Rule = Rule { public: false, admin: Grant::All, supervisor: Grant::All, agent: Grant::Deny };
    /// Admins and supervisors see everything, agents only their own.
    pub const STAFF_OR_OWN: Rule = Rule { public: false, admin: Grant::All, supervisor: Grant::All, agent: Grant::Own };

    pub fn grant(&self, role: Role) -> Grant {
        match role {
            Role::Admin => self.admin,
            Role::Supervisor => self.supervisor,
            Role::Agent => self.agent,
        }
    }

    /// The decision for a caller with `role` (`None`: not signed in).
    pub fn decide(&self, role: Option<Role>) -> Decision {
        match role {
            None if self.public => Decision::Allow(Grant::All),
            None => Decision::Unauthenticated,
            Some(role) => match self.grant(role) {
                Grant::Deny => Decision::Forbidden,
                g => Decision::Allow(g),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow(Grant),
    /// 401: sign in first.
    Unauthenticated,
    /// 403: signed in, not allowed.
    Forbidden,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_callers_reach_only_public_routes() {
        assert_eq!(Rule::PUBLIC.decide(None), Decision::Allow(Grant::All));
        assert_eq!(Rule::SIGNED_IN.decide(None), Decision::Unauthenticated);
    }

    #[test]
    fn roles_get_what_the_rule_grants() {
        assert_eq!(Rule::ADMIN.decide(Some(Role::Supervisor)), Decision::Forbidden);
        assert_eq!(Rule::STAFF_OR_OWN.decide(Some(Role::Agent)), Decision::Allow(Grant::Own));
        assert_eq!(Rule::STAFF.decide(Some(Role::Admin)), Decision::Allow(Grant::All));
    }
}
