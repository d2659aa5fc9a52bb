-- A direct session its device paused (it expects to be offline for a while): kept until it resumes or until
-- uploads.pause-max runs out (expires_at says when), and it takes no parts, part URLs or completion meanwhile.
ALTER TABLE upload_sessions ADD COLUMN paused_at timestamptz;
