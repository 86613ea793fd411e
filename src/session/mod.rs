//! Sessions: one viewer's requests in time order, split after an idle gap.

pub mod behavior;
