-- The most SMS segments one alert of the tenant may take (each segment is billed): a text over
-- it is refused with its count. 1 to 10 (what providers carry).
ALTER TABLE tenants
    ADD COLUMN max_sms_segments integer NOT NULL DEFAULT 6
        CHECK (max_sms_segments BETWEEN 1 AND 10);
