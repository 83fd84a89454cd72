/// A new id for one of Hark's own records: a short prefix naming the kind of
/// record (`conv`, `msg`, `usr`…) and a UUIDv7, so ids read well in logs and
/// sort by creation time within a kind.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
