-- Upload grants: a device asks (over MQTT) for an upload and is handed a short-lived, single-use URL
-- for one HTTP PUT. The grant's id is the id the file will get. Only the SHA-256 of the URL's token is
-- stored. (tenant, device, req) is unique so a repeated request gets the same grant.
--   open → uploading → used        a PUT in progress, then committed
--   uploading → open               the PUT failed; the grant may be used again until it expires
--   open → expired                 never used in time; its slot is free from expires_at on

CREATE TABLE upload_grants (
  id            uuid PRIMARY KEY,
  tenant_id     text NOT NULL,
  device_id     text NOT NULL,
  req           text NOT NULL,
  token_hash    bytea NOT NULL UNIQUE,
  filename      text NOT NULL,
  size          bigint NOT NULL CHECK (size >= 0),
  sha256        text,
  content_type  text,
  priority      smallint NOT NULL,
  state         text NOT NULL CHECK (state IN ('open', 'uploading', 'used', 'expired')),
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  claimed_at    timestamptz,
  used_at       timestamptz,
  UNIQUE (tenant_id, device_id, req),
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX upload_grants_open ON upload_grants (tenant_id, device_id) WHERE state IN ('open', 'uploading');
CREATE INDEX upload_grants_due ON upload_grants (expires_at) WHERE state IN ('open', 'uploading');
CREATE INDEX upload_grants_age ON upload_grants (expires_at) WHERE state IN ('used', 'expired');
