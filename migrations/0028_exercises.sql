-- Drills (`"exercise": true`): their messages say so first, and they count apart from real
-- alerts in history, usage and proof.
ALTER TABLE alerts ADD COLUMN exercise boolean NOT NULL DEFAULT false;
