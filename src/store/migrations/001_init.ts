import type { Migration } from './index.ts';

// Geometry is WKB (bytea) plus bbox columns with a GiST index on box(): no PostGIS needed, so the
// same schema runs on PGlite and on any PostgreSQL 15+. Delivered data is kept verbatim (json keeps
// the delivered attribute order and text); everything the district adds lives in other columns.
export const m001Init: Migration = {
  version: 1,
  name: 'batches, patches, units, reference layers, imports',
  sql: `
CREATE TABLE batches (
  id serial PRIMARY KEY,
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('land', 'mineral')),
  year integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
  period text NOT NULL DEFAULT 'annual' CHECK (period IN ('annual', 'quarterly', 'monthly')),
  rule_pack_id text NOT NULL,
  rule_pack_version text NOT NULL,
  rule_pack_digest text NOT NULL,
  milestones jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL
);

CREATE TABLE reference_layers (
  id serial PRIMARY KEY,
  type text NOT NULL CHECK (type IN ('land-use', 'farmland', 'basic-farmland', 'planning', 'approval',
    'expropriation', 'supply', 'linkage', 'facility', 'temporary', 'unit', 'mining-right',
    'exploration-right')),
  version integer NOT NULL,
  name text NOT NULL,
  source_file text NOT NULL,
  source_sha256 text NOT NULL,
  src_crs text NOT NULL,
  encoding text,
  fields json NOT NULL,
  feature_count integer NOT NULL,
  repaired_count integer NOT NULL DEFAULT 0,
  total_area_m2 double precision NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now(),
  imported_by text NOT NULL,
  UNIQUE (type, version)
);

CREATE TABLE reference_features (
  id serial PRIMARY KEY,
  layer_id integer NOT NULL REFERENCES reference_layers (id),
  feature_index integer NOT NULL,
  attributes json NOT NULL,
  geom bytea NOT NULL,
  geom_repaired bytea,
  validity_issue text,
  area_m2 double precision NOT NULL,
  minx double precision NOT NULL,
  miny double precision NOT NULL,
  maxx double precision NOT NULL,
  maxy double precision NOT NULL,
  UNIQUE (layer_id, feature_index)
);
CREATE INDEX reference_features_bbox ON reference_features USING gist (box(point(minx, miny), point(maxx, maxy)));

CREATE TABLE responsible_units (
  id serial PRIMARY KEY,
  code text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{9}$'),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('town', 'street', 'zone')),
  boundary bytea,
  area_m2 double precision,
  minx double precision,
  miny double precision,
  maxx double precision,
  maxy double precision,
  layer_id integer REFERENCES reference_layers (id),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE imports (
  id serial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('patches', 'layer')),
  batch_id integer REFERENCES batches (id),
  layer_id integer REFERENCES reference_layers (id),
  source_file text NOT NULL,
  source_sha256 text NOT NULL,
  encoding text,
  encoding_source text,
  src_crs text NOT NULL,
  options jsonb NOT NULL,
  fields json NOT NULL,
  summary jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL
);

CREATE TABLE patches (
  id serial PRIMARY KEY,
  batch_id integer NOT NULL REFERENCES batches (id),
  import_id integer REFERENCES imports (id),
  feature_index integer,
  source text NOT NULL CHECK (source IN ('satellite', 'routine_inspection', 'patrol', 'report')),
  jcbh text NOT NULL,
  xzqdm text,
  tblx text,
  jcmj_m2 double precision,
  gdmj_m2 double precision,
  area_unit text NOT NULL CHECK (area_unit IN ('m2', 'mu')),
  -- image dates as delivered: 'YYYY-MM-DD', or 'YYYY-MM' when a delivery gives only the month
  qsx text CHECK (qsx ~ '^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$'),
  hsx text CHECK (hsx ~ '^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$'),
  center_x double precision,
  center_y double precision,
  bz text,
  attributes json NOT NULL,
  src_crs text NOT NULL,
  geom_source bytea NOT NULL,
  geom bytea NOT NULL,
  geom_repaired bytea,
  validity_issue text,
  area_m2 double precision NOT NULL,
  minx double precision NOT NULL,
  miny double precision NOT NULL,
  maxx double precision NOT NULL,
  maxy double precision NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (batch_id, jcbh)
);
CREATE INDEX patches_bbox ON patches USING gist (box(point(minx, miny), point(maxx, maxy)));
CREATE INDEX patches_batch ON patches (batch_id);
`,
};
