-- Each claim of an Idempotency-Key gets a token of its own. A first request that outlives its lease, after a
-- retry took the key over, can neither record its answer (so its transaction, and the effect in it, rolls
-- back) nor release the retry's claim when it fails.
ALTER TABLE idempotency_keys ADD COLUMN lease_token uuid;
