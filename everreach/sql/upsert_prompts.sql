-- prompt_submitted events become prompts rows. Re-sending the same prompt changes nothing;
-- a corrected resend (same prompt_id, new values) updates it but keeps its created_at.
INSERT INTO prompts
    (prompt_id, user_id, session_id, contact_id, text, model, temperature, tags, created_at)
SELECT p.prompt_id, p.user_id, p.session_id, p.contact_id, p.text, p.model, p.temperature,
       ARRAY(SELECT jsonb_array_elements_text(p.tags)), p.created_at
FROM json_to_recordset(%(rows)s::json)
     AS p(prompt_id uuid, user_id text, session_id text, contact_id text, text text, model text,
          temperature double precision, tags jsonb, created_at timestamptz)
ON CONFLICT (prompt_id) DO UPDATE
SET user_id = EXCLUDED.user_id, session_id = EXCLUDED.session_id,
    contact_id = EXCLUDED.contact_id, text = EXCLUDED.text, model = EXCLUDED.model,
    temperature = EXCLUDED.temperature, tags = EXCLUDED.tags
WHERE (prompts.user_id, prompts.session_id, prompts.contact_id, prompts.text, prompts.model,
       prompts.temperature, prompts.tags)
      IS DISTINCT FROM
      (EXCLUDED.user_id, EXCLUDED.session_id, EXCLUDED.contact_id, EXCLUDED.text,
       EXCLUDED.model, EXCLUDED.temperature, EXCLUDED.tags)
