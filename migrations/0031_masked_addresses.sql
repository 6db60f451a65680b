-- The proof of an alert lists every recipient, masked (the last two digits of a number, the
-- first letter and the domain of an address), and must stay whole after retention erases the
-- addresses: the erasure keeps the masked form (store::erasure::sweep).
ALTER TABLE deliveries ADD COLUMN address_masked text;

-- The same forms as model::phone::mask_for_people and model::email::EmailAddress::masked.
CREATE FUNCTION mask_address(channel text, address text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN address IS NULL THEN NULL
        WHEN channel = 'sms' AND address ~ '^\+33[0-9]{7,}$' THEN
            '+33 ' || substr(address, 4, 1) || ' ** ** ** ' || right(address, 2)
        WHEN channel = 'sms' AND address ~ '^\+[0-9]{7,}$' THEN
            left(address, length(address) - 9) || ' ' || substr(address, length(address) - 8, 1)
                || ' ** ** ** ' || right(address, 2)
        WHEN channel = 'sms' THEN '** ' || right(address, 2)
        WHEN channel = 'email' AND position('@' IN address) > 1 THEN
            left(address, 1) || '•••@' || lower(split_part(address, '@', 2))
        WHEN channel = 'email' THEN '•••'
        ELSE coalesce('push: ' || substring(address::jsonb ->> 'endpoint' FROM '://([^/:]+)'),
                      'push')
    END
$$;
