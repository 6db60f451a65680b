-- Numbers and addresses the commune adds itself (its API, `subscribers add`, imports of a
-- register it holds) are trusted: their consent is recorded as given to the commune.
ALTER TABLE consents DROP CONSTRAINT consents_method_check;
ALTER TABLE consents ADD CONSTRAINT consents_method_check
    CHECK (method IN ('sms_keyword', 'sms_code', 'commune'));
