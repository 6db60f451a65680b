-- Four roles, given on a node of the tenant tree and held on its subtree (api::auth):
-- reader (history and status), drafter (subscribers; drafts once they exist), sender (sends and
-- cancels alerts), admin (everything of its tenants). Keys of the two roles before keep theirs.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('reader', 'drafter', 'sender', 'admin'));
