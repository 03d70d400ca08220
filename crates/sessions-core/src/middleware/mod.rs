//! The layers of the default stack, one concern per module.

use crate::error::BoxError;

/// Whether an error (anywhere in its source chain) is a failure to establish the connection,
/// which guarantees the request never reached the service.
pub fn is_connect_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(h) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            if h.is_connect() {
                return true;
            }
        }
        cur = e.source();
    }
    false
}

#[allow(dead_code)]
fn _assert_box_error(_: BoxError) {}
