//! Benchmark (written next).
