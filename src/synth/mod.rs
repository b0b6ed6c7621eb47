//! Procedural scenes with labelled anomalies, for tests and the built-in demo.
