//! Small shared helpers: ids, ARNs, time formats, pagination tokens and the Python side of
//! Spark processes.

pub mod ids;
pub mod pagination;
pub mod spark_process;
pub mod time;
