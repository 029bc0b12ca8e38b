-- Benchmark seeding: the side rows the collector would have written for events loaded by COPY
-- (prompts, responses, identity links), derived from app_events in three statements.
INSERT INTO prompts (prompt_id, user_id, session_id, contact_id, text, model, created_at)
SELECT (properties->>'prompt_id')::uuid, user_id, properties->>'session_id',
       properties->>'contact_id', properties->>'text', properties->>'model', occurred_at
FROM app_events WHERE event_name = 'prompt_submitted'
ON CONFLICT (prompt_id) DO NOTHING;

INSERT INTO responses (response_id, prompt_id, user_id, model, text, tokens_out, finish_reason,
                       cost_usd, latency_ms, created_at)
SELECT (properties->>'response_id')::uuid, (properties->>'prompt_id')::uuid, user_id,
       properties->>'model', properties->>'text', (properties->>'tokens_out')::bigint,
       properties->>'finish_reason', (properties->>'cost_usd')::numeric,
       (properties->>'latency_ms')::bigint, occurred_at
FROM app_events WHERE event_name = 'ai_response_generated'
ON CONFLICT (response_id) DO NOTHING;

INSERT INTO identity_links (anonymous_id, user_id, source, first_seen_at)
SELECT anonymous_id, user_id, 'event', min(occurred_at)
FROM app_events WHERE anonymous_id IS NOT NULL AND user_id IS NOT NULL
GROUP BY anonymous_id, user_id
ON CONFLICT DO NOTHING;

ANALYZE app_events;
ANALYZE responses;
ANALYZE prompts;
ANALYZE identity_links;
