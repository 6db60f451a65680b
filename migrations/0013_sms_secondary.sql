-- A tenant's secondary SMS account: new sends go there while its primary is failing.
ALTER TABLE tenants ADD COLUMN sms_secondary text;
