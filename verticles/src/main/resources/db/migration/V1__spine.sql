-- Wharf spine: tenants, devices, tokens, files, ingest jobs, idempotency keys.
-- Every row a device or sender can reach carries tenant_id; device-owned rows carry device_id too.

CREATE TABLE tenants (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
  tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id          text NOT NULL,
  name        text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- Tokens are random and shown once; only their SHA-256 is stored.
CREATE TABLE tokens (
  id          uuid PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  device_id   text,
  kind        text NOT NULL CHECK (kind IN ('device', 'sender')),
  scopes      text[] NOT NULL DEFAULT '{}',
  token_hash  bytea NOT NULL UNIQUE,
  label       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id) ON DELETE CASCADE,
  CHECK ((kind = 'device') = (device_id IS NOT NULL))
);

CREATE TABLE files (
  id                 uuid PRIMARY KEY,
  tenant_id          text NOT NULL,
  device_id          text NOT NULL,
  filename           text NOT NULL,
  original_filename  text,
  content_type       text,
  size               bigint,
  sha256             text,
  object_key         text NOT NULL,
  status             text NOT NULL CHECK (status IN ('uploading', 'uploaded', 'processing', 'processed', 'failed')),
  status_detail      text,
  metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
  priority           smallint NOT NULL DEFAULT 2,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX files_by_owner ON files (tenant_id, device_id, created_at DESC, id DESC);
CREATE INDEX files_uploading ON files (updated_at) WHERE status = 'uploading';

CREATE TABLE ingest_jobs (
  id            uuid PRIMARY KEY,
  file_id       uuid REFERENCES files (id) ON DELETE SET NULL,
  tenant_id     text NOT NULL,
  device_id     text NOT NULL,
  priority      smallint NOT NULL,
  status        text NOT NULL CHECK (status IN ('queued', 'active', 'succeeded', 'dead', 'cancelled')),
  attempts      integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL,
  last_error    text,
  progress      jsonb NOT NULL DEFAULT '{}'::jsonb,
  result        jsonb,
  next_run_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_jobs_by_owner ON ingest_jobs (tenant_id, device_id, created_at DESC, id DESC);
CREATE INDEX ingest_jobs_pending ON ingest_jobs (created_at) WHERE status IN ('queued', 'active');
CREATE INDEX ingest_jobs_file ON ingest_jobs (file_id);

-- The first answer to a create request, returned again to a retry with the same key.
CREATE TABLE idempotency_keys (
  tenant_id    text NOT NULL,
  principal    text NOT NULL,
  scope        text NOT NULL,
  key          text NOT NULL,
  status_code  integer,
  response     jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, principal, scope, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
