-- Replayed events that now pass the plan leave the quarantine (they are in app_events).
DELETE FROM quarantined_events WHERE event_id = ANY(%(event_ids)s::uuid[])
