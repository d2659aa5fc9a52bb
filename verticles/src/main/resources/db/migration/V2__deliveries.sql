-- Poll-mode deliveries: files a sender drops into a device's inbox; the device long-polls, fetches, acks.
-- A delivery is staged -> fetched -> acked | rejected, or expired past expires_at. The inbox of a device
-- is a query over this table (state staged or fetched, not yet expired); there is no second copy of it.

CREATE TABLE deliveries (
  id             uuid PRIMARY KEY,
  tenant_id      text NOT NULL,
  device_id      text NOT NULL,
  sender         text NOT NULL,
  -- Set when the delivery points at an existing processed file; that object belongs to the file.
  file_id        uuid REFERENCES files (id) ON DELETE CASCADE,
  object_key     text NOT NULL,
  -- True when the object was written for this delivery (t/{tenant}/deliveries/{id}) and dies with it.
  owns_object    boolean NOT NULL,
  filename       text NOT NULL,
  content_type   text,
  size           bigint NOT NULL,
  sha256         text NOT NULL,
  state          text NOT NULL CHECK (state IN ('staged', 'fetched', 'acked', 'rejected', 'expired')),
  reject_reason  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  fetched_at     timestamptz,
  acked_at       timestamptz,
  rejected_at    timestamptz,
  expired_at     timestamptz,
  expires_at     timestamptz NOT NULL,
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id) ON DELETE CASCADE,
  CHECK (owns_object = (file_id IS NULL))
);
-- The device's inbox, oldest first.
CREATE INDEX deliveries_pending ON deliveries (tenant_id, device_id, created_at, id) WHERE state IN ('staged', 'fetched');
-- The sender's listing, newest first.
CREATE INDEX deliveries_by_tenant ON deliveries (tenant_id, created_at DESC, id DESC);
-- The sweeper: pending ones past their TTL, finished ones past retention.
CREATE INDEX deliveries_expiry ON deliveries (expires_at) WHERE state IN ('staged', 'fetched');
CREATE INDEX deliveries_finished ON deliveries (coalesce(acked_at, rejected_at, expired_at)) WHERE state IN ('acked', 'rejected', 'expired');
CREATE INDEX deliveries_object ON deliveries (object_key);
CREATE INDEX deliveries_file ON deliveries (file_id) WHERE file_id IS NOT NULL;

-- Objects to delete from storage: an outbox, so that a row is never left pointing at a missing object and
-- no object is leaked. A row is recorded here in the transaction that deletes the row owning the object
-- (by the trigger below, whatever deletes it), or before an object is written for a staging (an intent,
-- with not_before in the future, removed by the staging's commit). The sweeper deletes the object first
-- and this row after it; a crash between the two only repeats a delete.
CREATE TABLE pending_object_deletes (
  object_key  text PRIMARY KEY,
  reason      text NOT NULL,
  not_before  timestamptz NOT NULL DEFAULT now(),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_object_deletes_due ON pending_object_deletes (not_before);

CREATE FUNCTION deliveries_forget_object() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.owns_object THEN
    INSERT INTO pending_object_deletes (object_key, reason) VALUES (OLD.object_key, 'delivery ' || OLD.id || ' deleted')
    ON CONFLICT (object_key) DO UPDATE SET not_before = now();
  END IF;
  RETURN OLD;
END $$;

CREATE TRIGGER deliveries_forget_object AFTER DELETE ON deliveries
  FOR EACH ROW EXECUTE FUNCTION deliveries_forget_object();
