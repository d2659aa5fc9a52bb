-- Resumable uploads. A session is a file row in 'uploading' plus the S3 multipart upload behind it, the
-- parts committed so far and, for tus, the pending tail: the bytes after the last full part, kept as an
-- object of their own (t/{tenant}/uploads/{file}.tail) until the next part fills. Everything a HEAD
-- reports is in these rows, so any gateway answers it after another one died.
--   tus:    active (receiving or idle) -> completing -> completed
--   direct: active (device PUTs parts to presigned URLs) -> completing -> completed
-- Aborted and expired sessions are deleted with their file row; audit_events keeps their history.

-- The multipart upload of a streamed POST /v1/files or grant PUT, recorded before its first part, so a
-- sweeper can abort it when the gateway dies mid-stream.
ALTER TABLE files ADD COLUMN multipart_upload_id text;

CREATE TABLE upload_sessions (
  file_id          uuid PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
  tenant_id        text NOT NULL,
  device_id        text NOT NULL,
  protocol         text NOT NULL CHECK (protocol IN ('tus', 'direct')),
  -- The MQTT request that opened it, so a repeated request gets the same session.
  req              text,
  upload_id        text NOT NULL,
  object_key       text NOT NULL,
  part_size        integer NOT NULL,
  -- Null while a tus client defers the length.
  declared_length  bigint CHECK (declared_length >= 0),
  expected_sha256  text,
  priority         smallint NOT NULL,
  state            text NOT NULL CHECK (state IN ('active', 'completing', 'completed')),
  -- Bytes in committed parts, and in the pending tail after them: the durable offset is their sum.
  parts_bytes      bigint NOT NULL DEFAULT 0,
  parts_count      integer NOT NULL DEFAULT 0,
  tail_bytes       integer NOT NULL DEFAULT 0,
  -- SHA-256 state after every durable byte (tus), so the whole-file digest survives restarts.
  hash_state       bytea,
  -- Who is appending now: a PATCH holds the lease and renews it while bytes flow.
  lease_owner      text,
  lease_until      timestamptz,
  expires_at       timestamptz NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX upload_sessions_req ON upload_sessions (tenant_id, device_id, req) WHERE req IS NOT NULL;
CREATE INDEX upload_sessions_open ON upload_sessions (tenant_id, device_id) WHERE state <> 'completed';
CREATE INDEX upload_sessions_due ON upload_sessions (expires_at) WHERE state <> 'completed';
CREATE INDEX upload_sessions_upload ON upload_sessions (upload_id);
CREATE INDEX files_multipart ON files (multipart_upload_id) WHERE multipart_upload_id IS NOT NULL;

CREATE TABLE upload_parts (
  file_id      uuid NOT NULL REFERENCES upload_sessions (file_id) ON DELETE CASCADE,
  part_number  integer NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
  size         bigint NOT NULL,
  etag         text NOT NULL,
  -- Null for parts a device sent straight to storage.
  sha256       text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (file_id, part_number)
);

-- What happened to each upload session, written in the transaction of the change it records.
CREATE TABLE audit_events (
  id          bigserial PRIMARY KEY,
  tenant_id   text NOT NULL,
  device_id   text NOT NULL,
  file_id     uuid NOT NULL,
  event       text NOT NULL,
  actor       text NOT NULL,
  request_id  text,
  detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_file ON audit_events (tenant_id, file_id, id);
CREATE INDEX audit_events_age ON audit_events (created_at);
