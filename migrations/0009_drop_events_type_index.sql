-- events_type_position (0001) is read by nothing tasklog runs: every reader of the log goes by
-- position, project, task, stream or time, and the audit tools fold whole ranges. Each append
-- still paid for it — one of the seven index entries per event that the writer's backend inserts
-- under the append lock (the twelfth round's profile: index inserts about a quarter of that
-- backend's execution time). A query by type is a filter on a position range or a scan.
DROP INDEX IF EXISTS events_type_position;
