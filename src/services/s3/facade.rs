//! What other services may use of S3: writing a local file as an object (query results, Spark
//! calculation output, Delta files of table services), deleting one, and looking a bucket up.
//! Everything else in this folder is S3's own; `cargo xtask layers` keeps it so.

pub use super::objects::{delete_one, put_local_file, put_local_file_if};
pub use super::records::{get_bucket, BucketMeta};
