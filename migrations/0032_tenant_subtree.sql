-- The two walks of the tenant tree every rule of the territory uses, written once: a node and
-- everything below it, and a node and every group above it (nearest first).
CREATE FUNCTION tenant_subtree(root uuid) RETURNS TABLE (id uuid)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH RECURSIVE down (id) AS (
        SELECT t.id FROM tenants t WHERE t.id = root
        UNION ALL
        SELECT t.id FROM tenants t JOIN down ON t.parent_id = down.id
    )
    SELECT id FROM down
$$;

CREATE FUNCTION tenant_ancestors(node uuid) RETURNS TABLE (id uuid, depth integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH RECURSIVE up (id, parent_id, depth) AS (
        SELECT t.id, t.parent_id, 0 FROM tenants t WHERE t.id = node
        UNION ALL
        SELECT t.id, t.parent_id, up.depth + 1 FROM tenants t JOIN up ON t.id = up.parent_id
    )
    SELECT id, depth FROM up
$$;
