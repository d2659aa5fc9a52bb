-- File deletes go through the object-delete outbox the deliveries use (pending_object_deletes, V2): a
-- deleted file row records its object in the same transaction, whatever deleted it, and the delivery
-- sweeper deletes the object and then the outbox row. So a failed or interrupted object delete is retried
-- until storage takes it, and no object outlives its row unrecorded. Deliveries made from the file go
-- with it (ON DELETE CASCADE); they never owned the object, so the deliveries trigger records nothing.

CREATE FUNCTION files_forget_object() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pending_object_deletes (object_key, reason) VALUES (OLD.object_key, 'file ' || OLD.id || ' deleted')
  ON CONFLICT (object_key) DO UPDATE SET not_before = now();
  RETURN OLD;
END $$;

CREATE TRIGGER files_forget_object AFTER DELETE ON files
  FOR EACH ROW EXECUTE FUNCTION files_forget_object();

-- The sweeper keeps an object some row still points at; this makes the check for files cheap.
CREATE INDEX files_object ON files (object_key);
