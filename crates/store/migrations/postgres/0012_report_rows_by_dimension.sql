-- A report reads one dimension over a range of buckets. With only the
-- (workspace, grain, bucket) index, the planner may walk every dimension's
-- rows of the range and sort them; this one reads just the dimension's.
CREATE INDEX report_rows_by_dimension ON report_rows (workspace_id, grain, dimension, bucket);
