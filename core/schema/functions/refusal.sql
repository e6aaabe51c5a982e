-- A refusal: what an operation answers instead of doing what it was asked,
-- as envoi's error model has it (docs/errors.md): the ErrorInfo reason, the
-- message, metadata (string values) and field violations (BadRequest).
CREATE OR REPLACE FUNCTION refusal(
    reason text, message text, metadata jsonb DEFAULT '{}', field_violations jsonb DEFAULT '{}'
) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('reason', reason, 'message', message, 'metadata', metadata,
                              'field_violations', field_violations)
$$;
