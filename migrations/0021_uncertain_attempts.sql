-- An attempt whose outcome is uncertain: the provider may have taken the message (a timeout
-- after the request was written, a connection lost mid-request, a 500, 502 or 504). It is
-- retried like a transient failure, but recorded apart: it may be a duplicate.
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_outcome_check;
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_outcome_check
    CHECK (outcome IN ('transient', 'uncertain', 'rate_limited', 'permanent'));
