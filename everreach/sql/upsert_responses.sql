-- ai_response_generated events become responses rows, idempotently (see upsert_prompts.sql).
INSERT INTO responses
    (response_id, prompt_id, user_id, model, text, tokens_out, finish_reason, cost_usd,
     latency_ms, created_at)
SELECT r.response_id, r.prompt_id, r.user_id, r.model, r.text, r.tokens_out, r.finish_reason,
       r.cost_usd, r.latency_ms, r.created_at
FROM json_to_recordset(%(rows)s::json)
     AS r(response_id uuid, prompt_id uuid, user_id text, model text, text text,
          tokens_out bigint, finish_reason text, cost_usd numeric, latency_ms bigint,
          created_at timestamptz)
ON CONFLICT (response_id) DO UPDATE
SET prompt_id = EXCLUDED.prompt_id, user_id = EXCLUDED.user_id, model = EXCLUDED.model,
    text = EXCLUDED.text, tokens_out = EXCLUDED.tokens_out,
    finish_reason = EXCLUDED.finish_reason, cost_usd = EXCLUDED.cost_usd,
    latency_ms = EXCLUDED.latency_ms
WHERE (responses.prompt_id, responses.user_id, responses.model, responses.text,
       responses.tokens_out, responses.finish_reason, responses.cost_usd, responses.latency_ms)
      IS DISTINCT FROM
      (EXCLUDED.prompt_id, EXCLUDED.user_id, EXCLUDED.model, EXCLUDED.text, EXCLUDED.tokens_out,
       EXCLUDED.finish_reason, EXCLUDED.cost_usd, EXCLUDED.latency_ms)
