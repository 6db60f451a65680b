-- What the public can make the platform send is capped (issue: no toll fraud through the public
-- forms). Each cap is a counter over a fixed window, shared by every instance: a scope (what is
-- counted: codes to a number, e-mails to an address, a commune's public SMS this hour…) and a
-- key within it (a keyed hash of the number or address, the commune's id, or '' for the
-- platform). No number or address is stored in clear here.
CREATE TABLE public_counters (
    scope       text NOT NULL,
    key         text NOT NULL,
    window_end  timestamptz NOT NULL,
    count       integer NOT NULL DEFAULT 1,
    PRIMARY KEY (scope, key)
);

-- The countries and territories (ISO 3166 codes) a commune's public routes and SMS keywords may
-- text. Default: France and its overseas departments and collectivities. What the commune adds
-- itself (API, imports) is not limited by it.
ALTER TABLE tenants ADD COLUMN sms_countries text[] NOT NULL
    DEFAULT '{FR,RE,GP,MQ,GF,YT,PM,NC,PF,WF,BL,MF}';

-- Per-client request counts move to public_counters (keyed by a hash, not the address).
-- public_requests stays while instances of the previous version may still run beside new ones
-- (a rolling upgrade): a later migration drops it. Its rows are an hour's counts at most.
