//! HalalCloud specifics beyond the conformance suite: the sign-in by code and its refreshes, held blocks.

mod duplicates;
mod names;
mod offline;
mod signin;
