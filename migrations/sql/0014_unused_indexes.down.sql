CREATE INDEX IF NOT EXISTS app_events_response_id_idx
    ON app_events ((properties ->> 'response_id')) WHERE properties ? 'response_id';
CREATE INDEX IF NOT EXISTS prompts_contact_id_idx ON prompts (contact_id);
