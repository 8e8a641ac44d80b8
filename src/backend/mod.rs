//! Where resources live. The HTTP layer calls a [`ResourceStore`]; the Tableau-backed bridge
//! implements it for real use, and [`memory::MemoryStore`] implements it for protocol tests.
pub mod memory;
