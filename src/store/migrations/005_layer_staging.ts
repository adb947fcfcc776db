import type { Migration } from './index.ts';

// Large layer imports stream into the database in short transactions as a 'staging' layer that no
// query sees, then publish in one short transaction that gives the layer its version. The server
// stays responsive meanwhile, and a crash leaves only an invisible staging layer, removed later.
export const m005LayerStaging: Migration = {
  version: 5,
  name: 'reference layers staged, then published',
  sql: `
ALTER TABLE reference_layers ALTER COLUMN version DROP NOT NULL;
ALTER TABLE reference_layers ADD COLUMN status text NOT NULL DEFAULT 'published'
  CHECK (status IN ('staging', 'published'));
ALTER TABLE reference_layers ADD COLUMN owner text;
ALTER TABLE reference_layers ADD COLUMN heartbeat_at timestamptz;
ALTER TABLE reference_layers ADD CONSTRAINT reference_layers_published_version
  CHECK (status = 'staging' OR version IS NOT NULL);
`,
};
