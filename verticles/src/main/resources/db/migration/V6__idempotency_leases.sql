-- An Idempotency-Key whose first request is still running holds a lease: if the gateway running it dies,
-- the key does not answer 409 for a day; once the lease runs out a retry takes the key over and runs the
-- request again. Answers recorded in the transaction of their effect (a file commit) are final.
ALTER TABLE idempotency_keys ADD COLUMN lease_until timestamptz;
UPDATE idempotency_keys SET lease_until = created_at + interval '5 minutes' WHERE status_code IS NULL;
