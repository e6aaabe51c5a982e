-- A refusal: what an operation answers instead of doing what it was asked,
-- as envoi's error model has it (docs/errors.md): the ErrorInfo reason, the
-- message, metadata (string values) and field violations (BadRequest).
-- The rules are PL/pgSQL, not SQL-language functions: a SQL function that is
-- not inlined is parsed and planned again at each call from PL/pgSQL, which
-- cost the core operations half of the database's CPU; PL/pgSQL keeps its plans.
CREATE OR REPLACE FUNCTION refusal(
    reason text, message text, metadata jsonb DEFAULT '{}', field_violations jsonb DEFAULT '{}'
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object('reason', reason, 'message', message, 'metadata', metadata,
                              'field_violations', field_violations);
END $$;
