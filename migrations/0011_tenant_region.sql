-- Where a tenant is, for phone numbers written in national form: an ISO 3166 code (FR; RE, GP,
-- MQ, GF, YT share France's national form; NC, PF, PM… have their own).
ALTER TABLE tenants ADD COLUMN region text NOT NULL DEFAULT 'FR';
