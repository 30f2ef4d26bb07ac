//! Integration tests: a real fake cloud on 127.0.0.1:0, driven over HTTP with reqwest.

mod auth;
mod binary;
mod chunked;
mod faults;
mod folders;
mod halal;
mod halal_auth;
mod halal_files;
mod halal_offline;
mod halal_upload;
mod harness;
mod pan6_auth;
mod pan6_files;
mod pan6_offline;
mod pan6_restart;
mod rate_limits;
mod restart;
mod single;
mod sixpan;
mod slices;
mod wcs_callback;
mod wcs_slice;
