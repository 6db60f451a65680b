-- One token bucket per provider account, shared by every instance: a provider's rate limit holds
-- across all of them. `urgent_at` is when an urgent send last asked for tokens: routine sends
-- give way while it is recent.
CREATE TABLE rate_buckets (
    account      text PRIMARY KEY,
    tokens       double precision NOT NULL,
    refilled_at  timestamptz NOT NULL,
    urgent_at    timestamptz
);
