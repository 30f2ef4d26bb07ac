//! The switch a request handler pulls to drop its own connection without answering (see [`crate::faults`]).
//! The server puts one in every request's extensions; the fault rules pull it.

use tokio_util::sync::CancellationToken;

/// Lets a request handler drop its own connection without answering (see [`crate::faults`]).
#[derive(Clone, Debug)]
pub(crate) struct ConnectionKill(CancellationToken);

impl ConnectionKill {
    /// A switch over the connection loop's token.
    pub(crate) fn new(token: CancellationToken) -> Self {
        Self(token)
    }

    /// Asks the connection loop to reset this connection.
    pub(crate) fn kill(&self) {
        self.0.cancel();
    }
}
