-- How many people live in the commune: the console's dashboard shows the share subscribed.
ALTER TABLE tenants ADD COLUMN population integer CHECK (population > 0);
