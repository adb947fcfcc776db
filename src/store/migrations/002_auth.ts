import type { Migration } from './index.ts';

// People and logins. Session tokens are never stored: the id of a session is the SHA-256 of the
// cookie token, so a copy of the database cannot be replayed as a login. Throttling state lives in
// the database (not in process memory) so that several app servers on one PostgreSQL share it.
export const m002Auth: Migration = {
  version: 2,
  name: 'departments, users, sessions, login throttling',
  sql: `
CREATE TABLE departments (
  id serial PRIMARY KEY,
  code text NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_-]{1,31}$'),
  name text NOT NULL UNIQUE CHECK (length(btrim(name)) > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO departments (code, name) VALUES
  ('agriculture', '周村区农业农村局'),
  ('housing', '周村区住房和城乡建设局'),
  ('police', '淄博市公安局周村分局'),
  ('enforcement', '周村区综合行政执法局');

CREATE TABLE users (
  id serial PRIMARY KEY,
  username text NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$'),
  display_name text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 64),
  role text NOT NULL CHECK (role IN ('leader', 'bureau_admin', 'reviewer', 'unit_officer', 'department')),
  unit_code text REFERENCES responsible_units (code) ON UPDATE CASCADE,
  department_code text REFERENCES departments (code) ON UPDATE CASCADE,
  password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  must_change_password boolean NOT NULL DEFAULT true,
  password_changed_at timestamptz,
  last_login_at timestamptz,
  disabled_at timestamptz,
  disabled_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text,
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  CONSTRAINT users_unit_binding CHECK ((role = 'unit_officer') = (unit_code IS NOT NULL)),
  CONSTRAINT users_department_binding CHECK ((role = 'department') = (department_code IS NOT NULL))
);
CREATE UNIQUE INDEX users_username_ci ON users (lower(username));

CREATE TABLE sessions (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
  user_id integer NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  csrf_token text NOT NULL,
  ip text,
  user_agent text,
  revoked_at timestamptz,
  revoked_reason text CHECK (revoked_reason IN ('logout', 'disabled', 'password_reset', 'password_changed',
    'replaced'))
);
CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;

-- Counters per 'user:<lower(username)>' and per 'addr:<ip>': failures in the current window and,
-- once the limit is reached, the end of the lock.
CREATE TABLE login_throttles (
  key text PRIMARY KEY,
  failures integer NOT NULL CHECK (failures >= 0),
  window_started_at timestamptz NOT NULL,
  locked_until timestamptz
);

-- Every login attempt, for the security review (who tried which account from where).
CREATE TABLE login_attempts (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  username text NOT NULL,
  user_id integer REFERENCES users (id),
  ip text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('success', 'bad_credentials', 'disabled', 'throttled'))
);
CREATE INDEX login_attempts_at ON login_attempts (at);
`,
};
