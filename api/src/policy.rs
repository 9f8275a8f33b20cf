//! The contract's access policy per operation: which credentials admit a caller and which
//! rate-limit class applies. The table itself is generated (`generated/policy.rs`).

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

#[derive(Debug)]
pub struct OperationPolicy {
    pub operation_id: &'static str,
    /// Empty: the operation is public.
    pub schemes: &'static [SecurityScheme],
    pub class: RateLimitClass,
}

impl OperationPolicy {
    pub fn admits(&self, scheme: SecurityScheme) -> bool {
        self.schemes.contains(&scheme)
    }

    pub fn is_public(&self) -> bool {
        self.schemes.is_empty()
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
    }
}
