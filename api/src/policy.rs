//! The contract's access policy per operation: which credentials admit a caller, which
//! rate-limit class applies, and who beyond the credential form may call it (`Access`). The
//! table itself is generated (`generated/policy.rs`).

#[path = "generated/policy.rs"]
mod table;

pub use table::OPERATION_POLICIES;

/// The contract's `components/securitySchemes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityScheme {
    /// A user's session JWT as `Authorization: Bearer`.
    UserJwt,
    /// An API key as `Authorization: Bearer`.
    ApiKeyBearer,
    /// An API key in `X-API-Key`.
    ApiKeyHeader,
    /// An API key's client credentials as `Authorization: Basic`.
    ClientCredentials,
    /// A bot's public widget token in `X-Widget-Token`.
    WidgetToken,
}

/// The contract's `x-rate-limit-class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateLimitClass {
    Standard,
    Chat,
    Auth,
    /// Operational endpoints: not limited.
    None,
}

/// The contract's `x-botwire-access`: whom an operation admits, beyond the credential forms
/// (its `info.description` defines each value). The server decides it before the operation
/// runs, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone: no credential.
    Public,
    /// A signed-in user, on their own things.
    User,
    /// The caller's own account.
    Account,
    /// The bot's account only.
    BotOwner,
    /// Also the owners and admins of a team the bot is shared with.
    BotTeamAdmin,
    /// Also every member of a team the bot is shared with.
    BotTeamAgent,
    /// Also a holder of the bot's widget token.
    BotVisitor,
    /// A member of the team the path names.
    TeamMember,
    /// An owner or admin of that team.
    TeamAdmin,
    /// An owner of that team.
    TeamOwner,
}

impl Access {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::User => "user",
            Access::Account => "account",
            Access::BotOwner => "bot-owner",
            Access::BotTeamAdmin => "bot-team-admin",
            Access::BotTeamAgent => "bot-team-agent",
            Access::BotVisitor => "bot-visitor",
            Access::TeamMember => "team-member",
            Access::TeamAdmin => "team-admin",
            Access::TeamOwner => "team-owner",
        }
    }

    /// Whether the rule is about one bot (the resource the request addresses).
    pub fn is_bot_scoped(self) -> bool {
        matches!(
            self,
            Access::BotOwner | Access::BotTeamAdmin | Access::BotTeamAgent | Access::BotVisitor
        )
    }

    /// Whether the rule is about the team the path names.
    pub fn is_team_scoped(self) -> bool {
        matches!(
            self,
            Access::TeamMember | Access::TeamAdmin | Access::TeamOwner
        )
    }
}

#[derive(Debug)]
pub struct OperationPolicy {
    pub operation_id: &'static str,
    /// The path template (`/v1/bots/{bot_id}`).
    pub path: &'static str,
    /// Empty: the operation is public.
    pub schemes: &'static [SecurityScheme],
    pub class: RateLimitClass,
    pub access: Access,
}

impl OperationPolicy {
    pub fn admits(&self, scheme: SecurityScheme) -> bool {
        self.schemes.contains(&scheme)
    }

    pub fn is_public(&self) -> bool {
        self.schemes.is_empty()
    }

    /// The text of the path variable `name` in a request path of this operation.
    pub fn path_variable<'p>(&self, request_path: &'p str, name: &str) -> Option<&'p str> {
        let wanted = format!("{{{name}}}");
        self.path
            .split('/')
            .zip(request_path.split('/'))
            .find(|(template, _)| *template == wanted)
            .map(|(_, value)| value)
    }
}

/// The policy of an operation, by operationId.
pub fn operation_policy(operation_id: &str) -> Option<&'static OperationPolicy> {
    OPERATION_POLICIES
        .binary_search_by(|policy| policy.operation_id.cmp(operation_id))
        .ok()
        .map(|index| &OPERATION_POLICIES[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_complete() {
        assert!(
            OPERATION_POLICIES
                .windows(2)
                .all(|w| w[0].operation_id < w[1].operation_id)
        );
        let login = operation_policy("account_login").expect("account_login");
        assert!(login.is_public());
        assert_eq!(login.class, RateLimitClass::Auth);
        let chat = operation_policy("chat_send").expect("chat_send");
        assert!(chat.admits(SecurityScheme::WidgetToken) && chat.admits(SecurityScheme::UserJwt));
        assert_eq!(chat.class, RateLimitClass::Chat);
        assert!(operation_policy("no_such_operation").is_none());
        let document = operation_policy("document_get").expect("document_get");
        assert_eq!(document.access, Access::BotTeamAgent);
        assert_eq!(
            document.path_variable("/v1/bots/b1/documents/d2", "document_id"),
            Some("d2")
        );
        assert_eq!(
            document.path_variable("/v1/bots/b1/documents/d2", "bot_id"),
            Some("b1")
        );
        assert_eq!(
            document.path_variable("/v1/bots/b1/documents/d2", "team_id"),
            None
        );
    }
}
