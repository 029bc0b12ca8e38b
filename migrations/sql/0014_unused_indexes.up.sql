-- Two indexes that no query needs; every insert wrote them.
--
-- app_events_response_id_idx (0004) served the ML dataset's lookup of feedback events by
-- response; that lookup also names the events, which (event_name, response_id) (0006) serves
-- as well. On the day partitions the redundant index cost more than an insert apiece: the
-- planner weighs every index of every partition a query reads. Planning the 30-day ML samples
-- query took 43-45 ms with it and 22-23 ms without, the execution the same (2.2-2.3 s, 1 M
-- events; bench/RESULTS.md, 2026-11-30 evening).
DROP INDEX IF EXISTS app_events_response_id_idx;

-- prompts_contact_id_idx (0001): nothing looks prompts up by contact (the privacy requests go
-- by user_id, the ML dataset by prompt_id).
DROP INDEX IF EXISTS prompts_contact_id_idx;
