-- When someone stopped an alert under way (sent by mistake): its deadline was brought forward to
-- that moment, so that what had not left by then expires (`store::alerts::stop`). Nullable and
-- without a default: nothing is rewritten, and earlier versions run on beside it.
ALTER TABLE alerts ADD COLUMN stopped_at timestamptz;
