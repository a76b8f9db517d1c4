//! Helpers shared by the binary's integration tests.
#![allow(dead_code)] // each test binary uses part of it

pub mod browser;
pub mod server;
pub mod session;
pub mod wechat;
pub mod widget;
