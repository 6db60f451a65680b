-- A person of a group (or of the platform) acts on one tenant of their subtree at a time in the
-- console: the one chosen in the header, kept with their session.
ALTER TABLE console_sessions
    ADD COLUMN acting_on uuid REFERENCES tenants (id) ON DELETE SET NULL;
