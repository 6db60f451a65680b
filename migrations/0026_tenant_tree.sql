-- Tenants form a tree: the platform (the host) at the root, groups below it (départements,
-- intercommunalities, syndicats: any depth), communes as leaves. A role given on a node (to an
-- API key today, to people later) holds on the whole subtree below it (api::auth).
ALTER TABLE tenants
    ADD COLUMN kind text NOT NULL DEFAULT 'commune'
        CHECK (kind IN ('platform', 'group', 'commune')),
    ADD COLUMN parent_id uuid REFERENCES tenants (id);
CREATE UNIQUE INDEX tenants_one_platform ON tenants (kind) WHERE kind = 'platform';
CREATE INDEX tenants_parent ON tenants (parent_id);

-- The platform's node; existing tenants become communes under it. Its slug is "platform",
-- unless a tenant already has that one.
INSERT INTO tenants (id, slug, name, kind)
SELECT gen_random_uuid(),
       CASE WHEN EXISTS (SELECT 1 FROM tenants WHERE slug = 'platform')
            THEN 'platform-root' ELSE 'platform' END,
       'Platform', 'platform';
UPDATE tenants SET parent_id = (SELECT id FROM tenants WHERE kind = 'platform')
WHERE kind <> 'platform';
ALTER TABLE tenants ADD CONSTRAINT tenants_root_is_the_platform
    CHECK ((kind = 'platform') = (parent_id IS NULL));

-- A commune has no members, and a node is never below itself: checked on every write, whatever
-- writes it (store::tree also checks first, to give the reason).
CREATE FUNCTION tenants_check_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF (SELECT kind FROM tenants WHERE id = NEW.parent_id) = 'commune' THEN
        RAISE EXCEPTION 'a commune has no members' USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (
        WITH RECURSIVE up (id, parent_id) AS (
            SELECT id, parent_id FROM tenants WHERE id = NEW.parent_id
            UNION ALL
            SELECT t.id, t.parent_id FROM tenants t JOIN up ON t.id = up.parent_id
        )
        SELECT 1 FROM up WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'a tenant cannot be moved below itself' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tenants_check_parent BEFORE INSERT OR UPDATE OF parent_id, kind ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenants_check_parent();
